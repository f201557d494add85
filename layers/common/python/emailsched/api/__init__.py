"""The HTTP API's models, error mapping and OpenAPI document (routes: functions/app.py)."""
