# The two commands of README.md are `make run` and `make test`.
.PHONY: run test lint unit integration bench clean

run:
	scripts/bootstrap.sh
	.venv/bin/emailsched dev

test:
	scripts/test.sh

lint:
	scripts/bootstrap.sh
	.venv/bin/ruff check .
	.venv/bin/mypy

unit:
	.venv/bin/pytest tests/unit

integration:
	.venv/bin/pytest tests/integration

bench:
	scripts/bootstrap.sh
	.venv/bin/emailsched bench

clean:
	rm -rf .emailsched dashboard/dist
