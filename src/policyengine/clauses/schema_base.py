"""The base of the policy schema: the envelope and the definitions clause kinds share.

:mod:`policyengine.clauses.generate` builds ``schemas/policy.schema.json`` from this base and
every registered kind's fragment: ``definitions`` are the :data:`SHARED_DEFINITIONS`, then
each kind's own helper definitions and its ``definitions/<kind>``, then :data:`CLAUSE` with
the ``kind`` enum and one ``if kind == ... then $ref`` branch per kind.
"""

from __future__ import annotations

from typing import Any

ENVELOPE: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "$id": "https://policyengine.dev/schemas/v1/policy.schema.json",
    "title": "policyengine policy",
    "description": (
        "A customer-services contract as an executable policy: one version of the policy, its "
        "dates, and its clauses grouped by subject. Each clause cites the contract and restates it "
        "in plain words."
    ),
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {
            "description": "The version of this file format. Always policyengine/v1.",
            "const": "policyengine/v1",
        },
        "kind": {"description": "The type of document. Always Policy.", "const": "Policy"},
        "metadata": {
            "description": (
                "The policy's name, version, title, source and the dates it is in force."
            ),
            "type": "object",
            "required": ["name", "version", "title", "effective"],
            "additionalProperties": False,
            "properties": {
                "name": {
                    "description": (
                        "The policy's short name, the same for all its versions: lowercase "
                        "letters, digits and hyphens. Example: spirion."
                    ),
                    "type": "string",
                    "minLength": 1,
                    "pattern": "^[a-z0-9][a-z0-9-]*$",
                    "patternErrorMessage": (
                        "expected a short name in lowercase letters, digits and hyphens, like "
                        "spirion"
                    ),
                },
                "version": {
                    "description": (
                        "The version of this policy, as three numbers (major.minor.patch), in "
                        'quotes. Example: "1.0.0".'
                    ),
                    "type": "string",
                    "minLength": 1,
                    "pattern": (
                        r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
                        r"(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$"
                    ),
                    "patternErrorMessage": "expected a version like 1.0.0 (in quotes)",
                    "examples": ["1.0.0", "1.1.0"],
                },
                "title": {
                    "description": (
                        "The policy's full title, for the reader (`show`, the report's headings); "
                        "no decision reads it. Example: Spirion customer services and service "
                        "level addendum."
                    ),
                    "type": "string",
                    "minLength": 1,
                },
                "contract": {
                    "description": (
                "The contract this policy encodes. For the reader: `show` prints it, no "
                "evaluation reads it."
            ),
                    "type": "object",
                    "required": ["title"],
                    "additionalProperties": False,
                    "properties": {
                        "title": {
                            "description": (
                                "The contract's title. Example: Customer Services, Service Level "
                                "Addendum and Customer Support Policy."
                            ),
                            "type": "string",
                            "minLength": 1,
                        },
                        "source": {
                            "description": (
                                "Where the contract text is kept: a file or a web address. "
                                "Example: contracts/spirion-sla.txt."
                            ),
                            "type": "string",
                            "minLength": 1,
                        },
                    },
                },
                "effective": {
                    "description": (
                        "The dates this version is in force: from a date, until a later date (not "
                        'included) or null for no end. Example: {from: "2026-01-01", until: null}.'
                    ),
                    "type": "object",
                    "required": ["from"],
                    "additionalProperties": False,
                    "properties": {
                        "from": {
                            "description": (
                                'The first day this version is in force. Example: "2026-01-01".'
                            ),
                            "$ref": "#/definitions/date",
                        },
                        "until": {
                            "description": (
                                "The day a later version takes over (this version no longer "
                                'applies on it), or null for no end. Example: "2027-01-01".'
                            ),
                            "type": ["string", "null"],
                            "format": "date",
                            "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
                            "patternErrorMessage": (
                                "expected a date written YYYY-MM-DD, like 2027-01-01, or null"
                            ),
                        },
                    },
                },
            },
        },
        "spec": {
            "description": "The policy's clauses, grouped by subject, and its time zone.",
            "type": "object",
            "required": [
                "timezone",
                "calendars",
                "availability",
                "exclusions",
                "credits",
                "support",
                "notifications",
                "entitlements",
            ],
            "additionalProperties": False,
            "properties": {
                "timezone": {
                    "description": (
                        "The time zone in which months, days and deadlines are reckoned. Example: "
                        "America/New_York."
                    ),
                    "$ref": "#/definitions/timezone",
                },
                "calendars": {
                    "description": (
                        "Business calendars (opening hours) that clocks can run on. Example clause "
                        "kind: calendar."
                    ),
                    "type": "array",
                    "items": {"$ref": "#/definitions/clause"},
                },
                "availability": {
                    "description": (
                        "The availability commitment. Example clause kind: "
                        "availability_commitment."
                    ),
                    "type": "array",
                    "items": {"$ref": "#/definitions/clause"},
                },
                "exclusions": {
                    "description": (
                        "What does not count as downtime. Example clause kinds: "
                        "scheduled_maintenance, excused_cause."
                    ),
                    "type": "array",
                    "items": {"$ref": "#/definitions/clause"},
                },
                "credits": {
                    "description": (
                        "The remedy for a missed commitment and how to claim it. Example clause "
                        "kinds: service_credit, claim_window."
                    ),
                    "type": "array",
                    "items": {"$ref": "#/definitions/clause"},
                },
                "support": {
                    "description": (
                        "Support severity levels and their targets. Example clause kind: severity."
                    ),
                    "type": "array",
                    "items": {"$ref": "#/definitions/clause"},
                },
                "notifications": {
                    "description": (
                        "Duties to give notice ahead of maintenance and changes. Example clause "
                        "kind: notice_obligation."
                    ),
                    "type": "array",
                    "items": {"$ref": "#/definitions/clause"},
                },
                "entitlements": {
                    "description": (
                        "Who is entitled to updates. Example clause kind: update_entitlement."
                    ),
                    "type": "array",
                    "items": {"$ref": "#/definitions/clause"},
                },
                "declarations": {
                    "description": (
                        "Other terms recorded for reference. Example clause kind: declaration."
                    ),
                    "type": "array",
                    "items": {"$ref": "#/definitions/clause"},
                },
                "offerings": {
                    "description": (
                        "The offerings (service tiers such as standard and premium) a "
                        "subscription may name, each with the terms it changes. Example clause "
                        "kind: offering."
                    ),
                    "type": "array",
                    "items": {"$ref": "#/definitions/clause"},
                },
                "fact_types": {
                    "title": "Extra fact types",
                    "description": (
                        "Fact types beyond the standard vocabulary (subscription, downtime, "
                        "notice, change, ticket, credit_request, update_request) that fact files "
                        "may carry for this policy, e.g. a vendor's own `incident_review`. Facts "
                        "of a declared type are accepted instead of refused, checked only for "
                        "`type` and an optional `id` and `customer`, and handed to every rule "
                        "stage, so a custom rule pack can match them. Example: [incident_review]."
                    ),
                    "type": "array",
                    "items": {
                        "type": "string",
                        "pattern": "^[a-z][a-z0-9_]*$",
                        "description": (
                            "A fact type name in lower_snake_case, e.g. incident_review."
                        ),
                    },
                    "uniqueItems": True,
                    "examples": [["incident_review"]],
                },
            },
        },
    },
}


SHARED_DEFINITIONS: dict[str, Any] = {
    "clause_id": {
        "title": "Clause id",
        "description": (
            "A short name for a clause, unique in the policy: lowercase letters, digits, hyphens "
            "and underscores, starting with a letter or digit. Reports cite clauses by it, and a "
            "notice obligation's id is the obligation name reports show "
            "(scheduled_downtime_notice). Example: severity-1."
        ),
        "type": "string",
        "pattern": "^[a-z0-9][a-z0-9_-]*$",
        "patternErrorMessage": (
            "expected a short name in lowercase letters, digits, hyphens or underscores, like "
            "severity-1"
        ),
        "examples": ["support-hours", "severity-1"],
    },
    "duration": {
        "title": "Duration",
        "description": (
            "A length of time: a number followed by a unit, with no space. Units: s seconds, m "
            "minutes, h hours, d days (24 hours), w weeks. Examples: 48h, 7d, 30m, 1.5h."
        ),
        "type": "string",
        "pattern": "^[0-9]+(\\.[0-9]+)?(s|m|h|d|w)$",
        "patternErrorMessage": "expected a duration like 48h, 7d or 30m",
        "examples": ["48h", "7d", "30m", "1.5h"],
    },
    "days": {
        "title": "Number of days",
        "description": (
            "A whole number of calendar days (d) or weeks (w), with no space. Example: 60d."
        ),
        "type": "string",
        "pattern": "^[0-9]+(d|w)$",
        "patternErrorMessage": "expected a number of days like 60d (or weeks like 2w)",
        "examples": ["60d", "30d", "2w"],
    },
    "date": {
        "title": "Date",
        "description": "A calendar date written year-month-day. Example: 2026-07-03.",
        "type": "string",
        "format": "date",
        "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
        "patternErrorMessage": "expected a date written YYYY-MM-DD, like 2026-07-03",
        "examples": ["2026-07-03"],
    },
    "timezone": {
        "title": "Time zone",
        "description": (
            "A time zone by its IANA name (the names used by computers world-wide), which follows "
            "daylight saving time automatically. Examples: America/New_York, Europe/London, UTC."
        ),
        "type": "string",
        "format": "iana-timezone",
        "pattern": "^(UTC|[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*)$",
        "patternErrorMessage": "expected a time zone name like America/New_York or UTC",
        "examples": ["America/New_York", "Europe/London", "UTC"],
    },
    "time_of_day": {
        "title": "Time of day",
        "description": (
            "A clock time on the 24-hour clock, HH:MM. 24:00 means the end of the day. Examples: "
            "09:00, 18:00, 24:00."
        ),
        "type": "string",
        "pattern": "^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$",
        "patternErrorMessage": "expected a time of day like 09:00 or 18:00 (24-hour clock)",
        "examples": ["09:00", "18:00"],
    },
    "plan": {
        "description": (
            "A subscription plan: production (the paid service in live use), beta, trial or pilot. "
            "Example: production."
        ),
        "type": "string",
        "enum": ["production", "beta", "trial", "pilot"],
        "x-enum-label": "plan",
        "title": "Plan",
    },
    "deployment": {
        "description": (
            "How the software is delivered: saas (hosted by the vendor) or on_premise (run by the "
            "customer). Example: saas."
        ),
        "type": "string",
        "enum": ["saas", "on_premise"],
        "x-enum-label": "deployment",
        "title": "Deployment",
    },
    "license": {
        "description": (
            "The kind of licence: subscription (for a term) or perpetual (without end). Example: "
            "perpetual."
        ),
        "type": "string",
        "enum": ["subscription", "perpetual"],
        "x-enum-label": "licence",
        "title": "Licence",
    },
    "channel": {
        "description": (
            "A way of giving notice: email, phone or portal (the customer portal). Example: email."
        ),
        "type": "string",
        "enum": ["email", "phone", "portal"],
        "x-enum-label": "channel",
        "title": "Notice channel",
    },
    "notice_kind": {
        "description": (
            "What a notice announces: scheduled_downtime (a planned maintenance window), "
            "significant_change or high_priority_update. Example: scheduled_downtime."
        ),
        "type": "string",
        "enum": ["scheduled_downtime", "significant_change", "high_priority_update"],
        "x-enum-label": "notice kind",
        "title": "Notice kind",
    },
    "literal": {
        "title": "Value",
        "description": "A plain value: text, a number, or true/false. Example: true.",
        "type": ["string", "number", "boolean"],
    },
    "term_ref": {
        "title": "Term reference",
        "description": (
            "Refers to another term of the same clause by its name (dotted for nested terms). "
            "Example: {term: plans}."
        ),
        "type": "object",
        "required": ["term"],
        "additionalProperties": False,
        "properties": {
            "term": {
                "description": "The name of the clause term to use. Example: notice.channels.",
                "type": "string",
                "pattern": "^[a-z_][a-z0-9_]*(\\.[a-z_][a-z0-9_]*)*$",
                "patternErrorMessage": "expected a term name like plans or notice.lead",
            }
        },
    },
    "test": {
        "title": "Test",
        "description": (
            "What a field must be: a plain value means 'equal to'; or one test among eq, ne, lt, "
            "lte, gt, gte, in, not_in, exists. Examples: true, {gte: 4}, {in: [email, portal]}."
        ),
        "type": ["string", "number", "boolean", "object"],
        "minProperties": 1,
        "maxProperties": 1,
        "additionalProperties": False,
        "properties": {
            "eq": {
                "type": ["string", "number", "boolean"],
                "description": "The field must be equal to this value.",
            },
            "ne": {
                "type": ["string", "number", "boolean"],
                "description": "The field must be different from this value.",
            },
            "lt": {
                "type": ["string", "number", "boolean"],
                "description": "The field must be less than this value.",
            },
            "lte": {
                "type": ["string", "number", "boolean"],
                "description": "The field must be less than or equal to this value.",
            },
            "gt": {
                "type": ["string", "number", "boolean"],
                "description": "The field must be greater than this value.",
            },
            "gte": {
                "type": ["string", "number", "boolean"],
                "description": "The field must be greater than or equal to this value.",
            },
            "in": {
                "type": ["array", "object"],
                "items": {"$ref": "#/definitions/literal"},
                "required": ["term"],
                "additionalProperties": False,
                "properties": {
                    "term": {
                        "description": (
                            "The name of the clause term to use. Example: notice.channels."
                        ),
                        "type": "string",
                        "pattern": "^[a-z_][a-z0-9_]*(\\.[a-z_][a-z0-9_]*)*$",
                        "patternErrorMessage": "expected a term name like plans or notice.lead",
                    }
                },
                "description": (
                    "The field must be one of these values. Example: {in: [customer, "
                    "third_party]}."
                ),
            },
            "not_in": {
                "type": ["array", "object"],
                "items": {"$ref": "#/definitions/literal"},
                "required": ["term"],
                "additionalProperties": False,
                "properties": {
                    "term": {
                        "description": (
                            "The name of the clause term to use. Example: notice.channels."
                        ),
                        "type": "string",
                        "pattern": "^[a-z_][a-z0-9_]*(\\.[a-z_][a-z0-9_]*)*$",
                        "patternErrorMessage": "expected a term name like plans or notice.lead",
                    }
                },
                "description": (
                    "The field must be none of these values. Example: {not_in: [beta, trial]}."
                ),
            },
            "exists": {
                "description": "true: the field must be present; false: it must be absent.",
                "type": "boolean",
            },
        },
        "x-messages": {
            "maxProperties": "use exactly one test here, such as {gte: 4} or {in: [a, b]}",
            "minProperties": "use exactly one test here, such as {gte: 4} or {in: [a, b]}",
        },
    },
    "condition": {
        "title": "Condition",
        "description": (
            "A test on the fields of a record, e.g. a support ticket's reported impact. Each entry "
            "names a field and what it must be; all entries must hold. 'all' and 'any' group "
            "further conditions. Example: {all: [{loss_of_service: true}, {workaround_available: "
            "false}]}."
        ),
        "type": "object",
        "properties": {
            "all": {
                "description": (
                    "Every one of these conditions must hold. An empty list always holds."
                ),
                "type": "array",
                "items": {"$ref": "#/definitions/condition"},
            },
            "any": {
                "description": (
                    "At least one of these conditions must hold. An empty list never holds."
                ),
                "type": "array",
                "items": {"$ref": "#/definitions/condition"},
            },
        },
        "propertyNames": {
            "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
            "patternErrorMessage": "expected a field name like loss_of_service",
        },
        "additionalProperties": {"$ref": "#/definitions/test"},
    },
}


CLAUSE: dict[str, Any] = {
    "title": "Clause",
    "description": (
        "One term of the contract: an id, its kind, where it comes from in the contract, a summary "
        "in plain words, and the terms its kind needs."
    ),
    "type": "object",
    "required": ["id", "kind", "ref", "summary"],
    "properties": {
        "id": {
            "description": (
                "A short name for the clause, unique in the policy: lowercase letters, digits and "
                "hyphens. Example: severity-1."
            ),
            "$ref": "#/definitions/clause_id",
        },
        "kind": {
            "description": (
                "The kind of clause; it decides which terms follow and which rules apply. Example: "
                "availability_commitment."
            ),
            "type": "string",
            "x-enum-label": "clause kind",
        },
        "ref": {
            "description": (
                "Where the clause is found in the contract: section and heading. Example: Service "
                "Level Addendum > Service Credit."
            ),
            "type": "string",
            "minLength": 1,
        },
        "summary": {
            "description": (
                "The clause restated in your own words (do not paste the contract text). Example: "
                "A month that misses the commitment earns one twelfth of the annual fee."
            ),
            "type": "string",
            "minLength": 1,
        },
    },
}
