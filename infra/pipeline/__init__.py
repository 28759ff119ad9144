"""The pipeline's steps: import into the cache, fan out to queues, submit, retry, redrive."""
