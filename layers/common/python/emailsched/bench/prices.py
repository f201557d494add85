"""AWS list prices, us-east-1, as published on the date below (no free tier, no savings
plans, no reserved capacity). One table: the cost benchmark (bench/cost.py) takes every
price from here, and BENCHMARKS.md names the date.
"""

from __future__ import annotations

PRICES_DATE = "2026-12-01"
PRICES_SOURCE = "AWS list prices as published for us-east-1 (aws.amazon.com/<service>/pricing)"

# Lambda, x86_64: duration per GB-second, and requests.
LAMBDA_GB_SECOND = 0.0000166667
LAMBDA_REQUEST = 0.20 / 1_000_000
# A Lambda function gets one full vCPU at 1,769 MB and CPU in proportion below that.
LAMBDA_MB_PER_VCPU = 1769
# SQS standard queue: per request, each 64 KB chunk of a payload billed as one request.
SQS_REQUEST = 0.40 / 1_000_000
SQS_CHUNK_BYTES = 64 * 1024
# EventBridge: scheduled rules (what Chalice's @app.schedule creates) are free; EventBridge
# Scheduler would be $1.00 per million invocations.
EVENTBRIDGE_SCHEDULED_RULE_RUN = 0.0
EVENTBRIDGE_SCHEDULER_INVOCATION = 1.00 / 1_000_000
# API Gateway REST API, first 333 million requests a month.
API_GATEWAY_REST_REQUEST = 3.50 / 1_000_000
# S3 Standard requests.
S3_PUT = 0.005 / 1_000
S3_GET = 0.0004 / 1_000
# CloudWatch Logs ingestion (EMF metrics arrive as log events).
CLOUDWATCH_LOGS_GB = 0.50
# Secrets Manager API calls, KMS requests.
SECRETS_MANAGER_CALL = 0.05 / 10_000
KMS_REQUEST = 0.03 / 10_000
# Fixed monthly: the smallest RDS Postgres and ElastiCache Redis (on demand, single AZ,
# 730 hours), storage and data transfer not included.
RDS_DB_T4G_MICRO_MONTH = 11.68
ELASTICACHE_CACHE_T4G_MICRO_MONTH = 11.68
