"""AWS adapters: settings from the environment, the DynamoDB store, the SQS publisher, secrets, the stack."""
