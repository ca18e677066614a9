# The two commands the README promises: `make run` and `make test`.
.PHONY: run test lint bench clean

run:
	scripts/install.sh run
	.venv/bin/centralino up

test:
	scripts/install.sh test
	scripts/test.sh

lint:
	.venv/bin/ruff check .

bench:
	scripts/install.sh test
	.venv/bin/python -m bench --all

clean:
	rm -rf var .pytest_cache
