"""Generated requests from our own OpenAPI document: whatever the input, never a 500.

Schemathesis builds the cases from /api/v1/openapi.json, which is generated from the very
schemas that validate requests, so the fuzzing also checks that the two agree.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.slow]  # hundreds of generated requests


def test_no_generated_input_makes_a_server_error(app, auth, factory):
    factory.resolved_incident(auth)  # something for the id-taking routes to find
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    failures = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def check(case):
            response = case.call(headers=auth)
            if response.status_code >= 500:
                failures.append((case.method, case.formatted_path, case.body, response.text[:300]))
            elif response.status_code >= 400:
                error = response.json()["error"]
                assert error["code"] and error["message"]

        check()
    assert failures == []
