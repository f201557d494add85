"""Deployment of emailsched to AWS: the pieces behind `infra/deploy.py`."""
