"""The readiness checks: a registry, one module per theme, and a runner that fails closed."""

from closure_readiness.checks.registry import REGISTRY, CheckSpec, Problem, check
from closure_readiness.checks.report import CheckResult, Finding, ReadinessReport, Resolution
from closure_readiness.checks.runner import CHECKS_VERSION, evaluate
from closure_readiness.checks.thresholds import DEFAULT_THRESHOLDS, Thresholds

__all__ = [
    "CHECKS_VERSION",
    "DEFAULT_THRESHOLDS",
    "REGISTRY",
    "CheckResult",
    "CheckSpec",
    "Finding",
    "Problem",
    "ReadinessReport",
    "Resolution",
    "Thresholds",
    "check",
    "evaluate",
]
