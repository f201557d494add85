"""Services: one use case each, wired by emailsched.bootstrap."""
