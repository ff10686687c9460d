"""One definition of the scheme list and of the primary scheme (cxinfluence.sentiment.schemes)."""

import inspect

from cxinfluence.sentiment import COMPARED_SCHEMES, PRIMARY_SCHEME, SCHEMES, SE_SCHEMES


def test_the_lists_derive_from_the_one_scheme_list():
    assert PRIMARY_SCHEME in COMPARED_SCHEMES
    assert COMPARED_SCHEMES == tuple(s for s in SCHEMES if s != "disagreement")
    assert SE_SCHEMES == tuple(s for s in COMPARED_SCHEMES if s != "nps")


def test_models_use_the_one_definition():
    from cxinfluence.models import compare, fit, measurement, risk

    assert compare.DEFAULT_SCHEMES is COMPARED_SCHEMES
    assert sorted(compare.SIMPLICITY) == sorted(COMPARED_SCHEMES)  # the same schemes, simplest first
    for f in (fit.fit_rebuy, fit.fit_bookings, fit.fit_mixed, measurement.corrected_fit, risk.accounts_at_risk):
        assert inspect.signature(f).parameters["scheme"].default == PRIMARY_SCHEME, f.__name__


def test_breakdowns_use_the_one_definition():
    from cxinfluence.sentiment.breakdowns import who_moved

    assert inspect.signature(who_moved).parameters["scheme"].default == PRIMARY_SCHEME


def test_run_and_report_agree_with_the_one_definition():
    # pipeline/ and present/ still hold their own copies (to be replaced by imports); they must agree
    from cxinfluence.pipeline import runner
    from cxinfluence.present import content

    assert runner.PRIMARY_SCHEME == PRIMARY_SCHEME and content.PRIMARY == PRIMARY_SCHEME
