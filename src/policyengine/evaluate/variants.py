"""The policy a customer is evaluated against: its offering and negotiated overrides.

A subscription may name an ``offering`` the policy defines and carry ``overrides`` of terms
(an order form), each from a date. :func:`resolve` gives the compiled policy for one
subscription on one day: the version itself when neither applies (the shipped policy's
path, unchanged), else the version resolved for them (:mod:`policyengine.model.variants`),
validated and compiled once and kept on the version. A subscription naming an offering the
policy does not define, or overriding a term that does not exist or with a value that makes
the policy invalid, is an input error located at the subscription's field.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections.abc import Callable

from policyengine.clauses.offerings import did_you_mean, missing_term_message
from policyengine.clauses.per_service import service_variant_data, services_with_terms
from policyengine.compile.compiler import CompiledPolicy, compile_policy
from policyengine.diagnostics import InputError
from policyengine.lifecycle import fork_safe
from policyengine.load.loader import Document
from policyengine.model.facts import Override, Subscription
from policyengine.model.policy import Policy
from policyengine.model.variants import (
    missing_in_turn,
    offering_names,
    uses_variants,
    variant_data,
    variant_key,
)

# guards the variant cache of a compiled version; innermost (nothing is taken while it is
# held), so it ranks after every other library lock; held across every fork (lifecycle)
_LOCK = fork_safe(threading.Lock(), 110)
_USES = "\0uses"  # the cache entry saying whether the version has offerings at all


def _uses(version: CompiledPolicy) -> bool:
    cached = version.variants.get(_USES)
    if cached is None:
        cached = version.variants.setdefault(_USES, uses_variants(version.policy.data))
    return bool(cached)


def in_force(sub: Subscription, day: Callable[[], dt.date]) -> tuple[Override, ...]:
    """The subscription's overrides in force on the (lazily computed) local day."""
    if not sub.overrides:
        return ()
    today = day()
    return tuple(o for o in sub.overrides if o.in_force_on(today))


def resolve(version: CompiledPolicy, sub: Subscription | None,
            day: Callable[[], dt.date]) -> CompiledPolicy:
    """The compiled policy for ``sub`` on ``day()`` (a local date, computed only when the
    subscription has overrides). Raises InputError located at the subscription."""
    if sub is None:
        if not _uses(version):
            return version
        return _variant(version, None, (), None)
    overrides = in_force(sub, day)
    if sub.offering is None and not overrides and not _uses(version):
        return version
    return _variant(version, sub.offering, overrides, sub)


def check_subscription(version: CompiledPolicy, sub: Subscription) -> None:
    """Resolve every variant a subscription can use (its offering with each override from
    its start), so that a bad offering or override is reported before evaluation."""
    resolve(version, sub, lambda: sub.term_start)
    for override in sub.overrides:
        resolve(version, sub, lambda o=override: o.start)


def _variant(version: CompiledPolicy, offering: str | None,
             overrides: tuple[Override, ...], sub: Subscription | None) -> CompiledPolicy:
    edits = [(o.term, o.value) for o in overrides]
    key = variant_key(offering, edits)
    cached = version.variants.get(key)
    if cached is not None:
        return cached
    policy = version.policy
    data = policy.data
    if sub is not None:
        names = offering_names(data)
        if offering is not None and offering not in names:
            defined = f"it defines {', '.join(names)}" if names else \
                "it defines no offerings (spec.offerings)"
            raise InputError.single(
                sub.where.file, f"unknown offering {offering!r} for policy {policy.label}: "
                f"{defined}{did_you_mean(offering, names)}",
                line=sub.where.line, column=sub.where.column, subject=sub.customer,
                path=sub.where.path("offering"), code="fact")
        for override, missing in zip(overrides, missing_in_turn(data, offering, edits),
                                     strict=True):
            if missing is not None:
                _refuse(sub, override, f"{missing_term_message(override.term, missing)} "
                                       f"(policy {policy.label})")
    from policyengine.validation.policy import check_policy_semantics
    from policyengine.validation.variants import resolved_problems

    problems = resolved_problems(Document(policy.file, data), offering, edits,
                                 check_policy_semantics)
    if problems:
        edit, problem = problems[0]
        override = next((o for o in overrides if o.term == edit), None)
        what = f"override of {edit!r}" if override is not None else \
            f"offering {offering!r}" if offering else "the policy"
        message = (f"{what} makes policy {policy.label} invalid for {sub.customer if sub else '-'}"
                   f": {problem.path}: {problem.message}")
        if sub is None:
            raise InputError([problem])
        if override is None:
            raise InputError.single(sub.where.file, message, line=sub.where.line,
                                    column=sub.where.column, subject=sub.customer,
                                    path=sub.where.path("offering"), code="fact")
        _refuse(sub, override, message)
    resolved = Policy.from_data(variant_data(data, offering, edits), policy.file)
    digest = hashlib.blake2b(key.encode(), digest_size=8).hexdigest()
    compiled = compile_policy(resolved, version.packs, f"{version.fingerprint}#{digest}")
    with _LOCK:
        return version.variants.setdefault(key, compiled)


def for_service(version: CompiledPolicy, service: str) -> CompiledPolicy:
    """The compiled policy a service's rows are judged by: ``version`` (already resolved for
    the customer) with the terms its clauses give for ``service`` (``per_service``) laid
    over theirs; ``version`` itself when no clause gives any. Validated and compiled once,
    kept on the version. A resolved policy that is not valid (an order form's override made
    a service's terms clash) raises InputError with the problem."""
    key = f"\0service:{service}"
    cached = version.variants.get(key)
    if cached is not None:
        return cached
    data = version.policy.data
    if service not in services_with_terms(data):
        with _LOCK:
            return version.variants.setdefault(key, version)
    from policyengine.validation import schemas
    from policyengine.validation.policy import check_policy_semantics

    resolved_data = service_variant_data(data, service)
    document = Document(version.policy.file, resolved_data)
    problems = [p for p in (schemas.validate_document(document, "policy")
                            or check_policy_semantics(document, services=False))
                if p.severity == "error"]
    if problems:
        raise InputError(problems[:1])
    resolved = Policy.from_data(resolved_data, version.policy.file)
    digest = hashlib.blake2b(key.encode(), digest_size=8).hexdigest()
    compiled = compile_policy(resolved, version.packs, f"{version.fingerprint}#{digest}")
    with _LOCK:
        return version.variants.setdefault(key, compiled)


def _refuse(sub: Subscription, override: Override, message: str) -> None:
    raise InputError.single(
        sub.where.file, message, line=sub.where.line, column=sub.where.column,
        subject=sub.customer, path=sub.where.path(f"overrides[{override.index}].term"),
        code="fact")


__all__ = ["check_subscription", "for_service", "in_force", "resolve"]
