"""The AWS-facing layer, by role.

* ``pipeline/``: the steps of the pipeline (import, fan-out, submit worker, retry, redrive).
* ``aws/``: adapters to AWS (settings, DynamoDB store and models, SQS publisher, secrets, the stack).
* ``runtime/``: each Lambda function's wiring, built once per container.
* ``local/``: the local runtime that stands in for AWS on one machine.
* ``cli.py`` on top, and ``lambda_build.py`` (stdlib only) for ``sam build``.
"""
