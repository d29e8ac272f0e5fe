"""IAM-style policy evaluation with conditions (no server): IAM's semantics, and refusal of anything
the server would not evaluate."""

from __future__ import annotations

import datetime as dt
import ipaddress

import pytest

from rekollect.security.conditions import RequestContext
from rekollect.security.policy import Policy

NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
ACTION, RESOURCE = "rekognition:DeleteCollection", "arn:aws:rekognition:us-east-1:0:collection/c"


def context(ip: str | None = "10.1.2.3", secure: bool = False, now: dt.datetime = NOW) -> RequestContext:
    return RequestContext(ipaddress.ip_address(ip) if ip else None, secure, now)


def allow_if(condition: dict) -> Policy:
    return Policy.parse({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": condition}]})


@pytest.mark.parametrize(
    ("condition", "request_context", "allowed"),
    [
        ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, context(), True),
        ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, context("192.168.0.1"), False),
        ({"IpAddress": {"aws:SourceIp": "10.1.2.3"}}, context(), True),
        ({"IpAddress": {"aws:SourceIp": "2001:db8::/32"}}, context("2001:db8::7"), True),
        ({"IpAddress": {"aws:SourceIp": "2001:db8::/32"}}, context("2001:db9::7"), False),
        ({"IpAddress": {"aws:SourceIp": "2001:db8::/32"}}, context(), False),  # IPv4 is never in an IPv6 block
        # several values of one key: any of them
        ({"IpAddress": {"aws:SourceIp": ["192.168.0.0/16", "10.0.0.0/8"]}}, context(), True),
        # negated: none of them
        ({"NotIpAddress": {"aws:SourceIp": ["192.168.0.0/16", "10.0.0.0/8"]}}, context(), False),
        ({"NotIpAddress": {"aws:SourceIp": ["192.168.0.0/16", "::1/128"]}}, context(), True),
        ({"Bool": {"aws:SecureTransport": "true"}}, context(), False),
        ({"Bool": {"aws:SecureTransport": "true"}}, context(secure=True), True),
        ({"Bool": {"aws:SecureTransport": False}}, context(), True),
        ({"DateGreaterThan": {"aws:CurrentTime": "2025-01-01T00:00:00Z"}}, context(), True),
        ({"DateLessThan": {"aws:CurrentTime": "2025-01-01T00:00:00Z"}}, context(), False),
        ({"DateLessThanEquals": {"aws:CurrentTime": "2025-06-01T12:00:00Z"}}, context(), True),
        ({"DateGreaterThanEquals": {"aws:CurrentTime": "2025-06-01T12:00:01+00:00"}}, context(), False),
        ({"DateEquals": {"aws:CurrentTime": int(NOW.timestamp())}}, context(), True),
        ({"DateNotEquals": {"aws:CurrentTime": str(int(NOW.timestamp()))}}, context(), False),
        ({"DateLessThan": {"aws:CurrentTime": "2025-06-01T13:00:00+02:00"}}, context(), False),  # 11:00 UTC
        # operators of a block: all of them
        (
            {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}, "DateLessThan": {"aws:CurrentTime": "2030-01-01"}},
            context(),
            True,
        ),
        (
            {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}, "DateLessThan": {"aws:CurrentTime": "2020-01-01"}},
            context(),
            False,
        ),
        (
            {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}, "Bool": {"aws:SecureTransport": "true"}},
            context(),
            False,
        ),
        # a key the request has no value for: false, except for ...IfExists and negated operators
        ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, context(None), False),
        ({"IpAddressIfExists": {"aws:SourceIp": "10.0.0.0/8"}}, context(None), True),
        ({"IpAddressIfExists": {"aws:SourceIp": "10.0.0.0/8"}}, context("192.168.0.1"), False),
        ({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, context(None), True),
        ({"Null": {"aws:SourceIp": "true"}}, context(None), True),
        ({"Null": {"aws:SourceIp": "true"}}, context(), False),
        ({"Null": {"aws:sourceip": "false"}}, context(), True),  # keys are case-insensitive
    ],
)
def test_conditions_follow_iam_semantics(condition, request_context, allowed):
    assert allow_if(condition).allows(ACTION, RESOURCE, request_context) is allowed


def test_a_deny_applies_only_when_its_condition_holds():
    policy = Policy.parse(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "all", "Effect": "Allow", "Action": "rekognition:*", "Resource": "*"},
                {
                    "Effect": "Deny",
                    "Action": "rekognition:Delete*",
                    "Resource": "*",
                    "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
                },
            ],
        }
    )
    assert policy.allows(ACTION, RESOURCE, context("10.9.9.9"))
    assert not policy.allows(ACTION, RESOURCE, context("192.168.1.1"))
    assert policy.allows("rekognition:ListCollections", "*", context("192.168.1.1"))


@pytest.mark.parametrize(
    ("statement", "named"),
    [
        ({"Condition": {"StringEquals": {"aws:username": "x"}}}, "'StringEquals'"),
        ({"Condition": {"IpAddress": {"aws:VpcSourceIp": "10.0.0.0/8"}}}, "'aws:VpcSourceIp'"),
        ({"Condition": {"ForAnyValue:IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}, "'ForAnyValue:IpAddress'"),
        (
            {"Condition": {"IpAddress": {"aws:CurrentTime": "10.0.0.0/8"}}},
            "IpAddress does not apply to aws:CurrentTime",
        ),
        ({"Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/33"}}}, "'10.0.0.0/33'"),
        ({"Condition": {"Bool": {"aws:SecureTransport": "yes"}}}, "'yes'"),
        ({"Condition": {"DateLessThan": {"aws:CurrentTime": "tomorrow"}}}, "'tomorrow'"),
        ({"Condition": {"IpAddress": {"aws:SourceIp": []}}}, "no values"),
        ({"Condition": {"IpAddress": {}}}, "IpAddress"),
        ({"Condition": "aws:SourceIp=10.0.0.0/8"}, "Condition must be an object"),
        ({"NotAction": "rekognition:DeleteCollection"}, "NotAction"),
        ({"NotResource": "*"}, "NotResource"),
        ({"Principal": "*"}, "Principal"),
    ],
)
def test_what_cannot_be_evaluated_is_refused(statement, named):
    with pytest.raises(ValueError) as caught:
        Policy.parse({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", **statement}]})
    assert named in str(caught.value)
