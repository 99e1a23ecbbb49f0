"""Clients for the suite: every AWS client points at BIND_SUITE_ENDPOINT
(a recorder, a replay server or an emulator) with dummy credentials."""

import os

import boto3
import pytest
from botocore.config import Config


@pytest.fixture(scope="session")
def client():
    endpoint = os.environ["BIND_SUITE_ENDPOINT"]
    config = Config(
        retries={"max_attempts": 1, "mode": "standard"},
        s3={"addressing_style": "path"},
    )

    def make(service):
        return boto3.client(
            service,
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="AKIDBINDSUITE0000000",
            aws_secret_access_key="bind-suite-dummy-secret",
            config=config,
        )

    return make
