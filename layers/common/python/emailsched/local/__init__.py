"""The local runtime: stand-ins for API Gateway, the SQS event source and EventBridge that
call the very handlers Chalice deploys, plus `emailsched dev`'s embedded services."""
