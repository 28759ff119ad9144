"""A new integration's block of template.yaml, generated from the calendar's (an optional integration).

Placeholders as in ``infra.scaffold.package``.  Its resources exist only when
the ``<Camel>Url`` parameter is set, so adding an integration changes no
existing deployment until someone points it at a destination.
"""

from __future__ import annotations

PARAMETERS = r"""  <<Camel>>Url:
    Type: String
    Default: ''
    Description: >-
      Base URL of <<Title>>'s API (https); empty: no <<name>> integration
      (none of its resources is created).
  <<Camel>>ApiKeyParameter:
    Type: String
    Default: /event-importer/<<name>>/api-key
    # A leading slash is required: the parameter ARN below is built as "parameter" + name.
    AllowedPattern: ^(/[A-Za-z0-9_.\-]+)+$
    Description: Name of the SSM SecureString parameter holding <<Title>>'s API key.
"""

CONDITION = "  Has<<Camel>>: !Not [!Equals [!Ref <<Camel>>Url, '']]\n"

RESOURCES = r"""  # ---------------------------------------------------- integration: <<name>>
  # Created only when <<Camel>>Url is set (Has<<Camel>>), so a default deploy is unchanged.
  # Written by `event-importer integration new <<name>>`.
  <<Camel>>Queue:
    Type: AWS::SQS::Queue
    Condition: Has<<Camel>>
    DeletionPolicy: Delete
    UpdateReplacePolicy: Delete
    Metadata:
      checkov:
        skip:
          - id: CKV_AWS_27
            comment: Encrypted at rest with SQS managed keys (SqsManagedSseEnabled); the check only knows KMS keys.
    Properties:
      QueueName: !Sub ${AWS::StackName}-<<name>>
      SqsManagedSseEnabled: true
      # >= 6 x the submit function's timeout (30 s) + its batching window (5 s).
      VisibilityTimeout: 185
      MessageRetentionPeriod: 345600
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt <<Camel>>DeadLetterQueue.Arn
        maxReceiveCount: !Ref MaxReceiveCount

  <<Camel>>DeadLetterQueue:
    Type: AWS::SQS::Queue
    Condition: Has<<Camel>>
    DeletionPolicy: Delete
    UpdateReplacePolicy: Delete
    Metadata:
      checkov:
        skip:
          - id: CKV_AWS_27
            comment: Encrypted at rest with SQS managed keys (SqsManagedSseEnabled); the check only knows KMS keys.
    Properties:
      QueueName: !Sub ${AWS::StackName}-<<name>>-dlq
      SqsManagedSseEnabled: true
      # Longer than the source queue's 4 days: a message's age is kept when it is dead-lettered.
      MessageRetentionPeriod: 1209600

  <<Camel>>SubmitLogGroup:
    Type: AWS::Logs::LogGroup
    Condition: Has<<Camel>>
    DeletionPolicy: Delete
    UpdateReplacePolicy: Delete
    Metadata:
      checkov:
        skip:
          - id: CKV_AWS_158
            comment: >-
              CloudWatch Logs encrypts every log group at rest; a customer managed key
              adds cost and a key policy, and the functions never log secrets or events' data.
          - id: CKV_AWS_338
            comment: Operational logs, kept LogRetentionDays (30 by default); delivery history is in the Submissions table.
    Properties:
      RetentionInDays: !Ref LogRetentionDays

  <<Camel>>SubmitFunction:
    Type: AWS::Serverless::Function
    Condition: Has<<Camel>>
    Metadata:
      BuildMethod: makefile
      checkov:
        skip:
          - id: CKV_AWS_116
            comment: >-
              Invoked only by an event source mapping, never asynchronously: failures go to the
              mapping's on-failure destination or the queue's redrive policy, not a function DLQ.
          - id: CKV_AWS_117
            comment: Reaches only AWS APIs and public HTTPS destinations; a VPC would add NAT cost and nothing to protect.
          - id: CKV_AWS_115
            comment: >-
              Concurrency is bounded where it matters: by shard count for the stream, and by each SQS
              mapping's MaximumConcurrency; reserved concurrency would take from the account's pool.
          - id: CKV_AWS_173
            comment: The environment holds names and URLs only; secrets are read from SSM at run time.
    Properties:
      Description: Submits queued events to <<Title>> and records each outcome.
      Handler: functions.submit.app.handler
      # The same handler as TicketFairy's (82 MiB peak for a batch).
      MemorySize: 128
      LoggingConfig:
        LogGroup: !Ref <<Camel>>SubmitLogGroup
      Environment:
        Variables:
          INTEGRATION_NAME: <<name>>
          QUEUE_URL: !Ref <<Camel>>Queue
          DEAD_LETTER_QUEUE_URL: !Ref <<Camel>>DeadLetterQueue
          MAX_RECEIVE_COUNT: !Ref MaxReceiveCount
          <<PREFIX>>URL: !Ref <<Camel>>Url
          <<PREFIX>>API_KEY_PARAMETER: !Ref <<Camel>>ApiKeyParameter
      Events:
        <<Camel>>Queue:
          Type: SQS
          Properties:
            Queue: !GetAtt <<Camel>>Queue.Arn
            BatchSize: 10
            MaximumBatchingWindowInSeconds: 5
            FunctionResponseTypes:
              - ReportBatchItemFailures
            # Caps the load on <<Title>>'s API whatever the queue depth.
            ScalingConfig:
              MaximumConcurrency: 2
      # Receiving and deleting come with the SQS event source (a managed policy).
      # tests/integration/test_iam.py checks these against every call the code makes.
      Policies:
        - Statement:
            # Events too large to travel in the message are read by key.
            - Sid: EventCacheRead
              Effect: Allow
              Action: dynamodb:GetItem
              Resource: !GetAtt EventCacheTable.Arn
            # Claims and outcome records: conditional writes only.
            - Sid: SubmissionRecords
              Effect: Allow
              Action: dynamodb:PutItem
              Resource: !GetAtt SubmissionsTable.Arn
            # Retry backoff (including Retry-After) on the message in hand.
            - Sid: RetryBackoff
              Effect: Allow
              Action: sqs:ChangeMessageVisibility
              Resource: !GetAtt <<Camel>>Queue.Arn
            # A fresh copy behind a live claim, and permanent failures straight to the DLQ.
            - Sid: RequeueAndDeadLetter
              Effect: Allow
              Action: sqs:SendMessage
              Resource:
                - !GetAtt <<Camel>>Queue.Arn
                - !GetAtt <<Camel>>DeadLetterQueue.Arn
            - Sid: ApiKeyParameter
              Effect: Allow
              Action: ssm:GetParameter
              Resource: !Sub arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${<<Camel>>ApiKeyParameter}
            # SecureString decryption through SSM with the AWS managed key only.
            - Sid: ApiKeyDecrypt
              Effect: Allow
              Action: kms:Decrypt
              Resource: !Sub arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*
              Condition:
                StringEquals:
                  kms:ViaService: !Sub ssm.${AWS::Region}.${AWS::URLSuffix}
                ForAnyValue:StringEquals:
                  kms:ResourceAliases: alias/aws/ssm

  # The operators' and the fan-out's access to the integration's queues: a policy of its own on
  # their roles, so that it exists exactly when the queues do.
  <<Camel>>QueueAccessPolicy:
    Type: AWS::IAM::Policy
    Condition: Has<<Camel>>
    Properties:
      PolicyName: <<Camel>>QueueAccess
      Roles:
        - !Ref FanoutFunctionRole
        - !Ref ReplayFunctionRole
        - !Ref ApiFunctionRole
      PolicyDocument:
        Version: '2012-10-17'
        Statement:
          # Fan-out queues changes; replays and redriven messages go onto the queue.
          - Sid: QueueChanges
            Effect: Allow
            Action: sqs:SendMessage
            Resource: !GetAtt <<Camel>>Queue.Arn
          # Depths for the status summary and the integration list (API).
          - Sid: QueueDepths
            Effect: Allow
            Action: sqs:GetQueueAttributes
            Resource:
              - !GetAtt <<Camel>>Queue.Arn
              - !GetAtt <<Camel>>DeadLetterQueue.Arn
          # DLQ peek and redrive (API).
          - Sid: DeadLetters
            Effect: Allow
            Action:
              - sqs:ReceiveMessage
              - sqs:DeleteMessage
            Resource: !GetAtt <<Camel>>DeadLetterQueue.Arn

  <<Camel>>SubmitErrorsAlarm:
    Type: AWS::CloudWatch::Alarm
    Condition: Has<<Camel>>
    Properties:
      AlarmDescription: >-
        The <<Title>> submit function failed whole invocations (a crash or a timeout,
        not a refused event: those are records); its logs say why.
      Namespace: AWS/Lambda
      MetricName: Errors
      Dimensions:
        - Name: FunctionName
          Value: !Ref <<Camel>>SubmitFunction
      Statistic: Sum
      Period: 300
      EvaluationPeriods: 1
      Threshold: 1
      ComparisonOperator: GreaterThanOrEqualToThreshold
      TreatMissingData: notBreaching
      AlarmActions: !If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]
      OKActions: !If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]

  <<Camel>>SubmitThrottlesAlarm:
    Type: AWS::CloudWatch::Alarm
    Condition: Has<<Camel>>
    Properties:
      AlarmDescription: The <<Title>> submit function was throttled (account concurrency); deliveries wait in the queue.
      Namespace: AWS/Lambda
      MetricName: Throttles
      Dimensions:
        - Name: FunctionName
          Value: !Ref <<Camel>>SubmitFunction
      Statistic: Sum
      Period: 300
      EvaluationPeriods: 1
      Threshold: 1
      ComparisonOperator: GreaterThanOrEqualToThreshold
      TreatMissingData: notBreaching
      AlarmActions: !If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]
      OKActions: !If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]

  <<Camel>>QueueAgeAlarm:
    Type: AWS::CloudWatch::Alarm
    Condition: Has<<Camel>>
    Properties:
      AlarmDescription: >-
        A <<Title>> delivery has waited over 30 minutes (normally seconds): <<Title>>
        is failing or refusing the key and messages are in retry backoff.
      Namespace: AWS/SQS
      MetricName: ApproximateAgeOfOldestMessage
      Dimensions:
        - Name: QueueName
          Value: !GetAtt <<Camel>>Queue.QueueName
      Statistic: Maximum
      Period: 300
      EvaluationPeriods: 1
      Threshold: 1800
      ComparisonOperator: GreaterThanThreshold
      TreatMissingData: notBreaching
      AlarmActions: !If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]
      OKActions: !If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]

  <<Camel>>DeadLetterAlarm:
    Type: AWS::CloudWatch::Alarm
    Condition: Has<<Camel>>
    Properties:
      AlarmDescription: <<Title>> deliveries were dead-lettered; inspect the Submissions records, then redrive.
      Namespace: AWS/SQS
      MetricName: ApproximateNumberOfMessagesVisible
      Dimensions:
        - Name: QueueName
          Value: !GetAtt <<Camel>>DeadLetterQueue.QueueName
      Statistic: Maximum
      Period: 300
      EvaluationPeriods: 1
      Threshold: 1
      ComparisonOperator: GreaterThanOrEqualToThreshold
      TreatMissingData: notBreaching
      AlarmActions: !If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]
      OKActions: !If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]

  <<Camel>>DeadLetterAgeAlarm:
    Type: AWS::CloudWatch::Alarm
    Condition: Has<<Camel>>
    Properties:
      AlarmDescription: >-
        A dead-lettered <<Title>> delivery has waited 10 of its 14 days of retention;
        redrive it (event-importer dlq redrive <<name>>) before it expires.
      Namespace: AWS/SQS
      MetricName: ApproximateAgeOfOldestMessage
      Dimensions:
        - Name: QueueName
          Value: !GetAtt <<Camel>>DeadLetterQueue.QueueName
      Statistic: Maximum
      Period: 3600
      EvaluationPeriods: 1
      Threshold: 864000
      ComparisonOperator: GreaterThanThreshold
      TreatMissingData: notBreaching
      AlarmActions: !If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]
      OKActions: !If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]

"""

OUTPUTS = r"""  <<Camel>>QueueUrl:
    Condition: Has<<Camel>>
    Value: !Ref <<Camel>>Queue
  <<Camel>>DeadLetterQueueUrl:
    Condition: Has<<Camel>>
    Value: !Ref <<Camel>>DeadLetterQueue
  <<Camel>>SubmitFunctionName:
    Condition: Has<<Camel>>
    Value: !Ref <<Camel>>SubmitFunction
"""
