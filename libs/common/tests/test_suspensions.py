import uuid

import pytest

from common.events import CompanyReactivated, CompanyStatusV1, CompanySuspended
from common.problems import Problem
from common.suspensions import Suspensions


def test_follows_suspensions_and_reactivations_in_order() -> None:
    suspensions = Suspensions()
    company, other = uuid.uuid4(), uuid.uuid4()
    payload = CompanyStatusV1(company_id=company, reason="unpaid")

    suspensions.apply(CompanySuspended.new(company, payload))
    assert suspensions.is_suspended(company)
    assert not suspensions.is_suspended(other)
    with pytest.raises(Problem) as refused:
        suspensions.check(company)
    assert (refused.value.status, refused.value.code) == (403, "company-suspended")

    suspensions.apply(CompanyReactivated.new(company, payload))
    assert not suspensions.is_suspended(company)
    suspensions.check(company)


def test_suspend_and_reactivate_share_a_topic_and_key() -> None:
    # One topic, keyed by company: a consumer sees a company's changes in the order made.
    company = uuid.uuid4()
    payload = CompanyStatusV1(company_id=company)
    suspended, reactivated = (
        CompanySuspended.new(company, payload),
        CompanyReactivated.new(company, payload),
    )
    assert CompanySuspended.topic == CompanyReactivated.topic
    assert suspended.key() == reactivated.key() == str(company)


def test_an_event_older_than_the_change_made_here_is_ignored() -> None:
    # The gateway that took the operator's change applies it at once; the events of the
    # suspension and of the reactivation come back afterwards, older than what it knows.
    suspensions = Suspensions()
    company = uuid.uuid4()
    payload = CompanyStatusV1(company_id=company)
    suspended = CompanySuspended.new(company, payload)
    reactivated = CompanyReactivated.new(company, payload)
    suspensions.suspend(company)
    suspensions.reactivate(company)

    suspensions.apply(suspended)
    assert not suspensions.is_suspended(company)
    suspensions.apply(reactivated)
    assert not suspensions.is_suspended(company)

    suspensions.apply(CompanySuspended.new(company, payload))  # a later suspension counts
    assert suspensions.is_suspended(company)
