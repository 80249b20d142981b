"""The policy language: forms, expansion, strict and lenient parsing, and every validation text."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outrider.acl.errors import ACLRequestError
from outrider.acl.policy import PolicyError, parse_policy
from outrider.acl.policy_model import rules_json
from outrider.acl.policy_record import validate_policy

READ = [
    "list-jobs", "parse-job", "read-job", "csi-list-volume", "csi-read-volume", "read-job-scaling",
    "list-scaling-policies", "read-scaling-policy", "host-volume-read",
]  # fmt: skip
WRITE = [
    *READ, "scale-job", "submit-job", "dispatch-job", "read-logs", "read-fs", "alloc-exec", "alloc-lifecycle",
    "csi-mount-volume", "csi-write-volume", "submit-recommendation", "host-volume-create",
    "host-volume-read",  # implied by host-volume-create, appended in one pass
]  # fmt: skip
SCALE = [
    "list-scaling-policies", "read-scaling-policy", "read-job-scaling", "scale-job", "read-job",
    "submit-recommendation",
]  # fmt: skip


def ns_caps(rules: str, strict: bool = True) -> list[list[str] | None]:
    policy = parse_policy(rules, strict)
    return [ns.capabilities for ns in policy.namespaces or ()]


@pytest.mark.parametrize(
    ("rules", "caps"),
    [
        ('namespace "default" { policy = "deny" }', [["deny"]]),
        ('namespace "default" { policy = "read" }', [READ]),
        ('namespace "default" { policy = "write" }', [WRITE]),
        ('namespace "default" { policy = "scale" }', [SCALE]),
        ('namespace "default" { capabilities = ["read-logs"] policy = "read" }', [["read-logs", *READ]]),
        ('namespace "default" { policy = "deny" capabilities = ["read-job"] }', [["read-job", "deny"]]),
        (
            'namespace "default" { capabilities = ["host-volume-write"] }',
            [["host-volume-write", "host-volume-register", "host-volume-create", "host-volume-delete", "host-volume-read"]],
        ),
        (
            'namespace "default" { capabilities = ["host-volume-register"] }',
            [["host-volume-register", "host-volume-create", "host-volume-read"]],
        ),
        ('namespace "default" {}', [None]),
        ('namespace "default" { capabilities = [] }', [[]]),
        ('namespace "a" { capabilities = ["read-fs"] capabilities = ["read-logs"] }', [["read-fs", "read-logs"]]),
        ('namespace "a" { policy = "deny" policy = "read" }', [READ]),
        ('namespace "a" { policy = "read" }\nnamespace "a" { policy = "deny" }', [READ, ["deny"]]),
        ('Namespace "x" { POLICY = "read" CAPABILITIES = ["read-fs"] }', [["read-fs", *READ]]),
        ('namespace "a" { polcy = "read" }', [None]),
        ('namespace "a" { policy = "read", capabilities = ["read-fs",], }', [["read-fs", *READ]]),
        ("namespace default { policy = \"read\" }", [READ]),
        ('namespace "*" { policy = "read" }\nnamespace "prod-*-api" {}', [READ, None]),
    ],
)  # fmt: skip
def test_namespace_capabilities(rules: str, caps: list[list[str] | None]) -> None:
    assert ns_caps(rules) == caps


def test_every_namespace_capability_is_accepted() -> None:
    every = [
        "deny", "list-jobs", "parse-job", "read-job", "submit-job", "dispatch-job", "read-logs", "read-fs",
        "alloc-exec", "alloc-node-exec", "alloc-lifecycle", "sentinel-override", "csi-register-plugin",
        "csi-write-volume", "csi-read-volume", "csi-list-volume", "csi-mount-volume", "host-volume-create",
        "host-volume-register", "host-volume-read", "host-volume-write", "host-volume-delete",
        "list-scaling-policies", "read-scaling-policy", "read-job-scaling", "scale-job", "submit-recommendation",
        "register-job", "revert-job", "deregister-job", "purge-job", "evaluate-job", "plan-job",
        "tag-job-version", "stable-job", "fail-deployment", "pause-deployment", "promote-deployment",
        "unblock-deployment", "cancel-deployment", "set-alloc-health-deployment", "gc-allocation",
        "pause-allocation", "force-periodic-job", "delete-service-registration",
    ]  # fmt: skip
    assert len(every) == 45
    quoted = ", ".join(f'"{c}"' for c in every)
    assert ns_caps(f'namespace "a" {{ capabilities = [{quoted}] }}')[0][:45] == every  # type: ignore[index]


@pytest.mark.parametrize(
    ("rules", "attr", "expected"),
    [
        ('node_pool "prod" { policy = "write" }', "node_pools", ["delete", "read", "write"]),
        ('node_pool "p_1" { policy = "read" }', "node_pools", ["read"]),
        ('node_pool "p" { policy = "scale" }', "node_pools", None),
        ('node_pool "p" { capabilities = ["delete"] policy = "deny" }', "node_pools", ["delete", "deny"]),
        ('host_volume "h" { policy = "read" }', "host_volumes", ["mount-readonly"]),
        ('host_volume "h*" { policy = "write" }', "host_volumes", ["mount-readonly", "mount-readwrite"]),
    ],
)
def test_named_blocks(rules: str, attr: str, expected: list[str] | None) -> None:
    assert getattr(parse_policy(rules, True), attr)[0].capabilities == expected


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ('operator { policy = "read" }', ["license-read", "keyring-read"]),
        (
            'operator { policy = "write" }',
            ["snapshot-save", "license-read", "keyring-rotate", "keyring-read", "keyring-delete"],
        ),
        ('operator { capabilities = ["snapshot-save"] policy = "deny" }', ["snapshot-save", "deny"]),
        ('operator { policy = "scale" }', None),
        ('operator { capabilities = ["keyring-read"] }', ["keyring-read"]),
    ],
)
def test_operator_block(rules: str, expected: list[str] | None) -> None:
    operator = parse_policy(rules, True).operator
    assert operator is not None and operator.capabilities == expected


def test_sentinel_block() -> None:
    sentinel = parse_policy('sentinel { policy = "write" }', True).sentinel
    assert sentinel is not None
    assert sentinel.capabilities == ["sentinel-read", "sentinel-submit", "sentinel-delete"]


@pytest.mark.parametrize("block", ["agent", "node", "quota"])
@pytest.mark.parametrize("level", ["deny", "read", "write", "scale"])
def test_level_blocks_accept_scale(block: str, level: str) -> None:
    assert getattr(parse_policy(f'{block} {{ policy = "{level}" }}', True), block).policy == level


@pytest.mark.parametrize("level", ["deny", "read", "list", "write"])
def test_plugin_levels(level: str) -> None:
    plugin = parse_policy(f'plugin {{ policy = "{level}" }}', True).plugin
    assert plugin is not None and plugin.policy == level


def test_object_assignment_is_a_block() -> None:
    agent = parse_policy('agent = { policy = "read" }', True).agent
    assert agent is not None and agent.policy == "read"


def test_variables_paths_merge_and_expand() -> None:
    rules = """
    namespace "apps" {
      variables {
        path "project/*" { capabilities = ["read", "write"] }
      }
      variables {
        path "other" { capabilities = ["list", "read"] }
        path "locked" { capabilities = ["read", "deny"] }
      }
    }
    """
    ns = parse_policy(rules, True).namespaces[0]  # type: ignore[index]
    assert ns.variables is not None
    assert [(p.path_spec, p.capabilities) for p in ns.variables.paths or ()] == [
        ("project/*", ["read", "write", "list"]),
        ("other", ["list", "read"]),
        ("locked", ["deny"]),
    ]


def test_lenient_merges_repeated_singletons() -> None:
    policy = parse_policy('agent { policy = "read" } agent { policy = "write" }', strict=False)
    assert policy.agent is not None and policy.agent.policy == "write"
    lists = parse_policy(
        'operator { capabilities = ["keyring-read"] } operator { capabilities = ["snapshot-save"] }', False
    )
    assert lists.operator is not None and lists.operator.capabilities == ["keyring-read", "snapshot-save"]


def test_unknown_blocks_pass_in_lenient_mode_only() -> None:
    rules = 'bogus { a = 1 }\nnamespace "x" { policy = "read" }'
    assert ns_caps(rules, strict=False) == [READ]
    with pytest.raises(PolicyError, match=r"^Invalid or duplicate policy keys: bogus$"):
        parse_policy(rules, strict=True)


def test_empty_rules_are_an_empty_policy() -> None:
    policy = parse_policy("", True)
    assert policy.raw == "" and policy.is_empty()
    assert rules_json(policy) == {
        "Agent": None, "ExtraKeysHCL": None, "HostVolumes": None, "Namespaces": None, "Node": None,
        "NodePools": None, "Operator": None, "Plugin": None, "Quota": None, "Raw": "", "Sentinel": None,
    }  # fmt: skip


JSON_POLICY = """{
  "namespace": {"default": {"policy": "read", "capabilities": ["read-logs"],
                            "variables": {"path": {"apps/*": {"capabilities": ["read"]}}}}},
  "node_pool": [{"prod": {"policy": "read"}}],
  "agent": {"policy": "read"},
  "node": [{"policy": "write"}],
}"""


def test_json_document() -> None:
    doc = rules_json(parse_policy(JSON_POLICY, True))
    assert doc["Namespaces"] == [
        {
            "Capabilities": ["read-logs", *READ],
            "Name": "default",
            "Policy": "read",
            "Variables": {"Paths": [{"Capabilities": ["read", "list"], "PathSpec": "apps/*"}]},
        }
    ]
    assert doc["NodePools"] == [{"Capabilities": ["read"], "Name": "prod", "Policy": "read"}]
    assert doc["Agent"] == {"Policy": "read"} and doc["Node"] == {"Policy": "write"}
    assert doc["Raw"] == JSON_POLICY and doc["ExtraKeysHCL"] is None


def test_json_namespaces_as_object_or_list() -> None:
    as_object = ns_caps('{"namespace": {"a": {"policy": "read"}, "b": {"policy": "deny"}}}')
    as_list = ns_caps('{"namespace": [{"a": {"policy": "read"}}, {"b": {"policy": "deny"}}]}')
    assert as_object == as_list == [READ, ["deny"]]


def test_rules_json_of_the_reference_example() -> None:
    rules = (
        'namespace "default" {\n  policy = "read"\n  variables { path "a/*" { capabilities = ["read"] } }\n}\n'
        'host_volume "x" { policy = "read" }\nnode { policy = "read" }'
    )
    assert rules_json(parse_policy(rules, False)) == {
        "Agent": None,
        "ExtraKeysHCL": None,
        "HostVolumes": [{"Capabilities": ["mount-readonly"], "Name": "x", "Policy": "read"}],
        "Namespaces": [
            {
                "Capabilities": READ,
                "Name": "default",
                "Policy": "read",
                "Variables": {"Paths": [{"Capabilities": ["read", "list"], "PathSpec": "a/*"}]},
            }
        ],
        "Node": {"Policy": "read"},
        "NodePools": None,
        "Operator": None,
        "Plugin": None,
        "Quota": None,
        "Raw": rules,
        "Sentinel": None,
    }


NS = "&acl.NamespacePolicy{{Name:{name}, Policy:{policy}, Capabilities:{caps}, Variables:(*acl.VariablesPolicy)(nil)}}"
NIL = "[]string(nil)"

# Every validation text, in the order acl/policy.go Parse checks.
ERRORS = [
    ("   ", "Invalid policy:    "),
    ("# only a comment", "Invalid policy: # only a comment"),
    ("{}", "Invalid policy: {}"),
    ("bogus { a = 1 }", "Invalid policy: bogus { a = 1 }"),
    ("invalid", "Failed to parse ACL Policy: At 1:9: key 'invalid' expected start of object ('{') or assignment ('=')"),
    ('node = "read"', "Failed to parse ACL Policy: At 1:8: root.node: not an object type for struct (*ast.LiteralType)"),
    ('namespace "a" { capabilities = "read-fs" }', "Failed to parse ACL Policy: At 1:32: unknown slice type: *ast.LiteralType"),
    ('namespace "\\500" {}', 'Failed to parse ACL Policy: invalid acl policy: unquote "\\500" err: invalid syntax'),
    ("namespace {}", "Failed to parse ACL Policy: invalid acl policy: runtime error: index out of range [0] with length 0"),
    ('namespace "a" { variables { path {} } }', "Failed to parse ACL Policy: invalid acl policy: runtime error: index out of range [0] with length 0"),
    ('namespace "a" { policy = ["read"] }', "Failed to parse ACL Policy: At 1:26: root.namespace[0].Policy: unknown type for string *ast.ListType"),
    ('namespace "a_b" {}', "Invalid namespace name: " + NS.format(name='"a_b"', policy='""', caps=NIL)),
    ('namespace "" {}', "Invalid namespace name: " + NS.format(name='""', policy='""', caps=NIL)),
    ('namespace { policy = "read" }', "Invalid namespace name: " + NS.format(name='""', policy='"read"', caps=NIL)),
    ('namespace "' + "a" * 129 + '" {}', "Invalid namespace name: " + NS.format(name='"' + "a" * 129 + '"', policy='""', caps=NIL)),
    ('namespace "default" { policy = "foo" }', "Invalid namespace policy: " + NS.format(name='"default"', policy='"foo"', caps=NIL)),
    ('namespace "default" { policy = "list" }', "Invalid namespace policy: " + NS.format(name='"default"', policy='"list"', caps=NIL)),
    ('namespace "a" { policy = 1 }', "Invalid namespace policy: " + NS.format(name='"a"', policy='"1"', caps=NIL)),
    ('namespace "a" { policy = true }', "Invalid namespace policy: " + NS.format(name='"a"', policy='"true"', caps=NIL)),
    ('namespace "a" { policy = <<EOT\nread\nEOT\n}', "Invalid namespace policy: " + NS.format(name='"a"', policy='"read\\n"', caps=NIL)),
    (
        'namespace "a" { capabilities = ["read-fs", "bad"] }',
        "Invalid namespace capability 'bad': " + NS.format(name='"a"', policy='""', caps='[]string{"read-fs", "bad"}'),
    ),
    ('namespace "a" { variables { } }', "Invalid variable policy: no variable paths in namespace a"),
    ('namespace "a" { variables "*" { path "x" { capabilities = ["read"] } } }', "Invalid variable policy: no variable paths in namespace a"),
    ('namespace "a" { variables { path { capabilities = ["read"] } } }', "Invalid missing variable path in namespace a"),
    ('namespace "a" { variables { path "/x" { capabilities = ["read"] } } }', "Invalid variable path \"/x\" in namespace a: cannot start with a leading '/'`"),
    ('namespace "a" { variables { path "x" { capabilities = ["bad"] } } }', "Invalid variable capability 'bad' in namespace a"),
    ('node_pool "a b" {}', "Invalid node pool name 'a b'"),
    ('node_pool "p" { policy = "list" }', "Invalid node pool policy 'list' for 'p'"),
    ('node_pool "p" { capabilities = ["mount"] }', "Invalid node pool capability 'mount' for 'p'"),
    ('host_volume "a_b" {}', 'Invalid host volume name: &acl.HostVolumePolicy{Name:"a_b", Policy:"", Capabilities:[]string(nil)}'),
    ('host_volume "h" { policy = "x" }', 'Invalid host volume policy: &acl.HostVolumePolicy{Name:"h", Policy:"x", Capabilities:[]string(nil)}'),
    (
        'host_volume "h" { capabilities = ["mount"] }',
        "Invalid host volume capability 'mount': &acl.HostVolumePolicy{Name:\"h\", Policy:\"\", Capabilities:[]string{\"mount\"}}",
    ),
    ('agent { policy = "read" }\nagent { policy = "write" }', "Invalid or duplicate policy keys: agent"),
    ('{"node": {"policy": "read"}, "Node": {"policy": "write"}}', "Invalid or duplicate policy keys: Node"),
    ('namespace "a" "b" { policy = "read" }', "Invalid or duplicate policy keys: b"),
    (
        'agent { policy = "read" }\nagent { policy = "write" }\nbogus {}\nanotherbogus {}\n'
        'node { policy = "read" }\nnode { policy = "read" }\noperator { policy = "read" }\n'
        'operator { policy = "read" }\nquota { policy = "read" }\nquota { policy = "read" }\n'
        'plugin { policy = "read" }\nplugin { policy = "read" }',
        "Invalid or duplicate policy keys: agent, anotherbogus, bogus, node, operator, plugin, quota",
    ),
    ("agent { }", 'Invalid agent policy: &acl.AgentPolicy{Policy:""}'),
    ('agent { policy = "list" }', 'Invalid agent policy: &acl.AgentPolicy{Policy:"list"}'),
    ('node { policy = "x" }', 'Invalid node policy: &acl.NodePolicy{Policy:"x"}'),
    ('operator { policy = "x" }', 'Invalid operator policy: &acl.OperatorPolicy{Policy:"x", Capabilities:[]string(nil)}'),
    ('operator { capabilities = ["read"] }', "Invalid operator capability 'read'"),
    ('sentinel { policy = "x" capabilities = ["a"] }', 'Invalid sentinel policy: &acl.SentinelPolicy{Policy:"x", Capabilities:[]string{"a"}}'),
    ('sentinel { capabilities = ["sentinel-list"] }', "Invalid sentinel capability 'sentinel-list'"),
    ("quota {}", 'Invalid quota policy: &acl.QuotaPolicy{Policy:""}'),
    ('plugin { policy = "scale" }', 'Invalid plugin policy: &acl.PluginPolicy{Policy:"scale"}'),
    ('plugin { }', 'Invalid plugin policy: &acl.PluginPolicy{Policy:""}'),
    # The first failure in check order wins.
    ('agent { policy = "x" }\nnamespace "a_b" {}', "Invalid namespace name: " + NS.format(name='"a_b"', policy='""', caps=NIL)),
    ('plugin { policy = "x" }\nquota { policy = "y" }', 'Invalid quota policy: &acl.QuotaPolicy{Policy:"y"}'),
    ('bogus {}\nagent { policy = "x" }', "Invalid or duplicate policy keys: bogus"),
]  # fmt: skip


@pytest.mark.parametrize(("rules", "error"), ERRORS, ids=[e[1][:60] for e in ERRORS])
def test_validation_texts(rules: str, error: str) -> None:
    with pytest.raises(PolicyError) as exc:
        parse_policy(rules, strict=True)
    assert str(exc.value) == error


def test_variables_dump_is_deterministic() -> None:
    with pytest.raises(PolicyError) as exc:
        parse_policy('namespace "a_b" { variables { path "p" { capabilities = ["read"] } } }', True)
    assert str(exc.value) == (
        'Invalid namespace name: &acl.NamespacePolicy{Name:"a_b", Policy:"", Capabilities:[]string(nil), '
        'Variables:&acl.VariablesPolicy{Paths:[]*acl.VariablesPathPolicy{&acl.VariablesPathPolicy{PathSpec:"p", '
        'Capabilities:[]string{"read"}}}}}'
    )


@pytest.mark.parametrize(
    "rules",
    [
        'namespace "a" {}\nnamespace "b" {}\nnamespace "a" { policy = "read" }',
        'node_pool "a" {}\nnode_pool "b" {}',
        'host_volume "a" {}\nhost_volume "a" {}',
    ],
)
def test_strict_mode_accounts_for_every_labelled_block(rules: str) -> None:
    parse_policy(rules, strict=True)


# -- anything at all is a policy or a PolicyError, never a crash ----------------------------------


HCL_PIECES = st.sampled_from([
    "namespace", "node_pool", "host_volume", "agent", "node", "operator", "quota", "plugin", "sentinel",
    "variables", "path", "policy", "capabilities", '"default"', '"*"', '"read"', '"write"', '"deny"',
    '"read-fs"', "{", "}", "[", "]", "=", ",", "\n", " ", '"', "\\", "#", "//", "/*", "*/", "<<EOT\n", "EOT\n",
    "<<-EOT\n", "1", "0x", "1.5e3", "-", ".", "true", "${", "\\u00e9", "\\500", "\x00", "\ue123", "é", "\r\n",
])  # fmt: skip
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(
        ["namespace", "default", "policy", "capabilities", "agent", "node", "variables", "path", "a/*", "x", ""]
    ), inner, max_size=4),
    max_leaves=12,
)  # fmt: skip


def _parses_or_refuses(rules: str) -> None:
    for strict in (True, False):
        try:
            parse_policy(rules, strict)
        except PolicyError as exc:
            assert str(exc)


@settings(max_examples=400, deadline=None)
@given(st.lists(HCL_PIECES, max_size=30).map("".join))
def test_hcl_like_text_never_crashes(rules: str) -> None:
    _parses_or_refuses(rules)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_text_never_crashes(rules: str) -> None:
    _parses_or_refuses(rules)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["namespace", "node", "agent", "node_pool", "bogus"]), JSON_VALUES, max_size=3
    )
)
def test_json_documents_never_crash(doc: dict[str, object]) -> None:
    _parses_or_refuses(json.dumps(doc))
    _parses_or_refuses(json.dumps(doc) + ",")


# -- a stored policy's own checks (ACLPolicy.Validate), all reported together ---------------------


@pytest.mark.parametrize(
    ("name", "description", "rules", "job_acl", "errors"),
    [
        ("ok-1", "", "", None, []),
        ("a_b", "", "", None, ["invalid name 'a_b'"]),
        ("", "", "", None, ["invalid name ''"]),
        ("x" * 129, "", "", None, [f"invalid name '{'x' * 129}'"]),
        ("p", "", "invalid", None, [
            "failed to parse rules: Failed to parse ACL Policy: At 1:9: key 'invalid' expected start of object "
            "('{') or assignment ('=')"
        ]),
        ("p", "é" * 129, "", None, ["description longer than 256"]),
        ("p", "", "", {"Namespace": "", "JobID": "j", "Group": "", "Task": ""}, ["namespace must be set to set job ID"]),
        ("p", "", "", {"Namespace": "n", "JobID": "", "Group": "g", "Task": ""}, ["job ID must be set to set group"]),
        ("p", "", "", {"Namespace": "n", "JobID": "j", "Group": "", "Task": "t"}, ["group must be set to set task"]),
        ("a b", "d" * 300, "bogus {}\nnode { policy = \"read\" }", {"Namespace": "", "JobID": "", "Group": "", "Task": "t"}, [
            "invalid name 'a b'",
            "failed to parse rules: Invalid or duplicate policy keys: bogus",
            "description longer than 256",
            "group must be set to set task",
        ]),
    ],
)  # fmt: skip
def test_policy_validation(
    name: str, description: str, rules: str, job_acl: dict[str, str] | None, errors: list[str]
) -> None:
    if not errors:
        validate_policy(name, description, rules, job_acl)
        return
    with pytest.raises(ACLRequestError) as exc:
        validate_policy(name, description, rules, job_acl)
    count = "1 error occurred" if len(errors) == 1 else f"{len(errors)} errors occurred"
    expected = f"policy 0 invalid: {count}:\n" + "".join(f"\t* {e}\n" for e in errors) + "\n"
    assert (exc.value.status, exc.value.message) == (400, expected)
