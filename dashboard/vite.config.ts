/// <reference types="vitest/config" />
import { defineConfig, loadEnv } from "vite";
import react from "@vitejs/plugin-react";

// API routes served by `emailsched api`; `npm run dev` proxies them so the dev
// server behaves like the real one (same origin, no CORS).
const API_PREFIXES = ["/auth", "/emails", "/batches", "/senders", "/suppressions", "/u/", "/openapi.json", "/config.js"];

export default defineConfig(({ mode }) => {
  const env = loadEnv(mode, ".", "");
  const target = env.EMAILSCHED_DEV_API || "http://127.0.0.1:8000";
  return {
    // Relative asset URLs: dist/ works at `/` (emailsched api) or under any prefix (S3/CloudFront).
    base: "./",
    plugins: [react()],
    build: {
      outDir: "dist",
      emptyOutDir: true,
      sourcemap: false,
      target: "es2022",
    },
    server: {
      proxy: Object.fromEntries(API_PREFIXES.map((p) => [p, { target, changeOrigin: true }])),
    },
    test: {
      environment: "node",
      include: ["src/**/*.test.{ts,tsx}"],
    },
  };
});
