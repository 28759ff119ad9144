"""Which deployment a command talks to, decided once, in this order:

1. an explicit ``--endpoint-url`` (or ``AWS_ENDPOINT_URL``), ``--profile`` or ``--region``;
2. else the running local runtime's state file (``infra.local.state``);
3. else the usual AWS configuration (environment, ``~/.aws``, SSO ...).

Against a local endpoint (1 with an endpoint, or 2) the credentials are dummy
ones when the environment has none (moto takes any), and the region is the
runtime's.  Against AWS nothing is invented: missing credentials or region
is an error that says what to set.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass

import boto3
import botocore.exceptions
import botocore.session

from infra.local.state import RuntimeState, current_state, state_dir

#: The local runtime's region (``infra.local.runtime.REGION``), for an endpoint given without one.
LOCAL_REGION = "us-east-1"
DEFAULT_STACK = "local"
# moto accepts any credentials; these only keep botocore from looking for real ones.
DUMMY_CREDENTIALS = ("local", "local")


class TargetError(Exception):
    """The target cannot be reached as configured: the message says what to set."""


@dataclass(frozen=True)
class Target:
    """A resolved deployment: stack, region, endpoint and how to authenticate."""

    stack: str
    region: str
    endpoint_url: str | None
    profile: str | None
    #: Where the choice came from, for the ``target:`` line.
    origin: str
    #: The running local runtime this target is (from its state file), if it is one.
    runtime: RuntimeState | None = None
    dummy_credentials: bool = False

    @property
    def local(self) -> bool:
        return self.endpoint_url is not None

    def describe(self) -> str:
        """One line for stderr: what this command talks to, and why."""
        where = f"endpoint {self.endpoint_url}" if self.endpoint_url else "AWS"
        profile = f", profile {self.profile}" if self.profile else ""
        return f"target: stack {self.stack} on {where} ({self.region}{profile}; {self.origin})"

    def botocore_session(self) -> botocore.session.Session:
        """A session with this target's profile and credentials (dummy ones for a local endpoint without any)."""
        return _session(self.profile, self.dummy_credentials)

    def boto3_session(self) -> boto3.Session:
        return boto3.Session(botocore_session=self.botocore_session(), region_name=self.region)


@functools.cache
def _session(profile: str | None, dummy_credentials: bool) -> botocore.session.Session:
    # One per process and kind: a new session parses each service's model again (most of a command's time).
    session = botocore.session.Session(profile=profile)
    if dummy_credentials:
        session.set_credentials(*DUMMY_CREDENTIALS)
    return session


def resolve(
    *,
    stack: str | None,
    endpoint_url: str | None,
    profile: str | None,
    region: str | None,
    environ: Mapping[str, str] | None = None,
) -> Target:
    """The target for these options (``None``: not given); ``TargetError`` when AWS is not configured."""
    env = os.environ if environ is None else environ
    endpoint_url = endpoint_url or env.get("AWS_ENDPOINT_URL") or None
    if endpoint_url:
        running = current_state()
        runtime = running if running and running.endpoint_url == endpoint_url.rstrip("/") else None
        return Target(
            stack=stack or (runtime.stack if runtime else DEFAULT_STACK),
            region=region or (runtime.region if runtime else None) or env.get("AWS_REGION") or LOCAL_REGION,
            endpoint_url=endpoint_url,
            profile=profile,
            origin="--endpoint-url",
            runtime=runtime,
            dummy_credentials=not _has_credentials(profile),
        )
    if not profile and not region:
        running = current_state()
        if running is not None:
            return Target(
                stack=stack or running.stack,
                region=running.region,
                endpoint_url=running.endpoint_url,
                profile=None,
                origin=f"local runtime, pid {running.pid}, from {state_dir()}",
                runtime=running,
                dummy_credentials=True,
            )
    return _aws(stack or DEFAULT_STACK, profile, region, env)


def _aws(stack: str, profile: str | None, region: str | None, env: Mapping[str, str]) -> Target:
    origin = "--profile/--region" if profile or region else "AWS configuration"
    try:
        session = botocore.session.Session(profile=profile)
        # botocore reads AWS_DEFAULT_REGION and the profile; AWS_REGION is what the SDKs' docs name.
        region = region or env.get("AWS_REGION") or session.get_config_variable("region")
        credentials = session.get_credentials()
    except botocore.exceptions.ProfileNotFound as exc:
        raise TargetError(f"{exc}: check --profile / AWS_PROFILE against ~/.aws/config") from exc
    if not region:
        raise TargetError(
            "no AWS region: pass --region or set AWS_REGION (or start `event-importer local` to use the local runtime)"
        )
    if credentials is None:
        raise TargetError(
            "no AWS credentials: configure them (aws configure, AWS_PROFILE or --profile) "
            "or start `event-importer local` to use the local runtime"
        )
    return Target(stack=stack, region=region, endpoint_url=None, profile=profile, origin=origin)


def _has_credentials(profile: str | None) -> bool:
    try:
        return botocore.session.Session(profile=profile).get_credentials() is not None
    except botocore.exceptions.BotoCoreError:
        return False
