"""docs/*.md cannot go stale: every command they show names things that exist.

Commands are read from the fenced ``bash`` blocks (and inline code that starts with ``aws `` or ``make ``)
of every page and checked against what they talk to:

- ``make <target>``: a target of the Makefile; ``VAR=...`` a variable it declares; ``STACKS=...`` stack parts
  the stage synthesizes; ``CDK_ARGS="-c key=value"`` a key of the kit's context model (`KitConfig`).
- ``aws <service> <operation> --flag value``: the operation and every flag in botocore's model of the service
  (plus the CLI's global flags, and its pagination flags where the operation paginates); required members
  present; literal values of enums, integers and JSON or shorthand structures valid for their shapes;
  ``--query`` walked against the operation's output shape. ``aws s3`` (the CLI's own high-level commands):
  the subcommand only.
- ``aws cloudformation ... --stack-name <name> ... OutputKey=='X'``: the stack is synthesized and has output X.
- Links between pages: the file exists and the ``#anchor`` is one of its headings.

Everything is read from files and the session's synth: no network.
"""

from __future__ import annotations

import itertools
import json
import re
import shlex
import textwrap
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias, Union, get_args, get_origin

import aws_cdk as cdk
import botocore.exceptions
import botocore.session
import jmespath.parser  # type: ignore[import-untyped]
import pytest
from botocore import xform_name
from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape
from pydantic import BaseModel

from stacks.config import KitConfig
from stacks.guardrails.safety_settings import SafetyConfig, load_safety_config
from tests.stacks.test_guardrails import guardrails_beside_foundation

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted((ROOT / "docs").glob("*.md"))
USECASE = "customer-retention"
SHELL_LANGUAGES = {"bash", "sh", "shell", "console"}
GLOBAL_FLAGS = {"query", "output", "region", "profile"}
PAGINATION_FLAGS = {"max-items", "page-size", "starting-token", "no-paginate"}
CLI_SERVICE_NAMES = {"s3api": "s3"}  # CLI command -> botocore service, where they differ
# Flags the AWS CLI renames from the API member (awscli/customizations/argrename.py): (service, operation, flag) ->
# the member's CLI name. `output` would clash with the global --output.
CLI_ARGUMENT_RENAMES = {("stepfunctions", "send-task-success", "task-output"): "output"}
S3_HIGH_LEVEL = {"cp", "ls", "mb", "mv", "presign", "rb", "rm", "sync", "website"}
SEPARATORS = set(";&|()\n")
BOTOCORE = botocore.session.get_session()


# ------------------------------------------------------------------------------------------ reading


@dataclass(frozen=True)
class Command:
    where: str  # "docs/x.md" plus the block or line, for messages
    words: tuple[str, ...]


def fenced_blocks(text: str) -> Iterator[tuple[str, str]]:
    """(language, content) of every fenced block, indented ones (inside lists) included."""
    for match in re.finditer(r"^([ \t]*)```([^\n`]*)\n(.*?)^[ \t]*```[ \t]*$", text, re.M | re.S):
        yield match.group(2).strip().lower(), textwrap.dedent(match.group(3))


def without_fences(text: str) -> str:
    return re.sub(r"^[ \t]*```.*?^[ \t]*```[ \t]*$", "", text, flags=re.M | re.S)


def without_comments(script: str) -> str:
    """The script with its comments removed as bash reads them: `#` starting a word, outside quotes, up to
    the end of the line (quotes inside a comment mean nothing)."""
    out: list[str] = []
    quote = ""
    index = 0
    while index < len(script):
        char = script[index]
        if quote:
            if char == "\\" and quote == '"':
                out.append(script[index : index + 2])
                index += 2
                continue
            quote = "" if char == quote else quote
        elif char == "\\":
            out.append(script[index : index + 2])
            index += 2
            continue
        elif char in "'\"":
            quote = char
        elif char == "#" and (not out or out[-1][-1:] in (" ", "\t", "\n", ";", "&", "|", "(", ")")):
            end = script.find("\n", index)
            index = len(script) if end < 0 else end
            continue
        out.append(char)
        index += 1
    return "".join(out)


def words_of(script: str) -> list[str]:
    """Shell words; runs of ; & | ( ) and newlines outside quotes come back as separator words."""
    script = without_comments(script.replace("\\\n", " "))
    lexer = shlex.shlex(script, posix=True, punctuation_chars=";&|()\n")
    lexer.whitespace = " \t\r"
    lexer.whitespace_split = True
    lexer.commenters = ""
    return list(lexer)


def simple_commands(script: str) -> Iterator[tuple[str, ...]]:
    """Each simple command of a script, leading `NAME=value` assignments removed; commands inside `$(...)` of
    a quoted word are commands too."""
    current: list[str] = []
    for word in [*words_of(script), "\n"]:
        if word and set(word) <= SEPARATORS:
            while current and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", current[0]):
                current.pop(0)
            if current:
                yield tuple(current)
            current = []
            continue
        current.append(word)
        for inner in re.findall(r"\$\(([^()]*)\)", word):
            yield from simple_commands(inner)


def commands_of(path: Path) -> list[Command]:
    text = path.read_text(encoding="utf-8")
    name = path.relative_to(ROOT).as_posix()
    found = []
    for index, (language, content) in enumerate(fenced_blocks(text), start=1):
        if language in SHELL_LANGUAGES:
            found += [Command(f"{name} block {index}", words) for words in simple_commands(content)]
    for line in without_fences(text).splitlines():
        for span in re.findall(r"`([^`\n]+)`", line):
            if span.startswith(("aws ", "make ")):
                found += [Command(f"{name} `{span}`", words) for words in simple_commands(span)]
    return found


# ------------------------------------------------------------------------------------------ make


def makefile() -> tuple[set[str], set[str]]:
    """(targets, variables) the Makefile declares."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([A-Za-z0-9][A-Za-z0-9_.-]*):(?!=)", text, re.M))
    variables = set(re.findall(r"^([A-Z][A-Z0-9_]*)\s*[?:]?=", text, re.M))
    return targets, variables


def context_key_exists(key: str, model: type[BaseModel] = KitConfig) -> bool:
    """Whether `-c key=value` names a field of the kit's context model (dots walk into nested models)."""
    head, _, rest = key.partition(".")
    info = model.model_fields.get(head)
    if info is None:
        return False
    if not rest:
        return True
    annotation = info.annotation
    candidates = get_args(annotation) if get_origin(annotation) in (Union, types.UnionType) else (annotation,)
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return context_key_exists(rest, candidate)
        if get_origin(candidate) is dict:
            value_type = get_args(candidate)[1]
            _, _, below = rest.partition(".")
            if not below:
                return True
            return (
                isinstance(value_type, type)
                and issubclass(value_type, BaseModel)
                and context_key_exists(below, value_type)
            )
    return False


def check_make(words: tuple[str, ...], parts: set[str]) -> list[str]:
    targets, variables = makefile()
    problems = []
    for word in words[1:]:
        if word.startswith("-"):
            continue
        name, equals, value = word.partition("=")
        if not equals:
            if name not in targets:
                problems.append(f"make target '{name}' is not in the Makefile")
            continue
        if name not in variables:
            problems.append(f"make variable '{name}' is not declared in the Makefile")
        elif name == "STACKS":
            problems += [f"STACKS part '{p}' is not a stack of the stage" for p in value.split() if p not in parts]
        elif name == "CDK_ARGS":
            arguments = shlex.split(value)
            for flag, setting in itertools.pairwise(arguments):
                if flag == "-c" and not context_key_exists(setting.partition("=")[0]):
                    problems.append(f"context key '{setting.partition('=')[0]}' is not a KitConfig setting")
    return problems


# ------------------------------------------------------------------------------------------ aws


class ListOf:
    """What a JMESPath projection yields: a list of `member` (botocore has no shape for it)."""

    def __init__(self, member: Shape | ListOf | None) -> None:
        self.member = member


QueryShape: TypeAlias = Shape | ListOf | None


def _element(shape: QueryShape) -> QueryShape:
    if isinstance(shape, (ListShape, ListOf)):
        return shape.member
    return None


def walk_query(node: dict[str, Any], shape: QueryShape, problems: list[str]) -> QueryShape:
    """The shape a JMESPath node yields from `shape`; names that are not members go to `problems`.
    Unknown or untyped parts (functions, maps, literals) yield None, which stops checking below them."""
    kind, children = node["type"], node.get("children", [])
    if shape is None:
        for child in children:
            walk_query(child, None, problems)
        return None
    if kind == "field":
        if isinstance(shape, StructureShape):
            if node["value"] not in shape.members:
                problems.append(f"--query: '{node['value']}' is not a member of {shape.name}")
                return None
            return shape.members[node["value"]]
        return None
    if kind == "subexpression":
        for child in children:
            shape = walk_query(child, shape, problems)
        return shape
    if kind == "index_expression":
        return _element(walk_query(children[0], shape, problems))
    if kind in ("identity", "current"):
        return shape
    if kind == "flatten":
        return walk_query(children[0], shape, problems)
    if kind == "projection":
        return ListOf(walk_query(children[1], _element(walk_query(children[0], shape, problems)), problems))
    if kind == "filter_projection":
        element = _element(walk_query(children[0], shape, problems))
        walk_query(children[2], element, problems)
        return ListOf(walk_query(children[1], element, problems))
    if kind == "pipe":
        return walk_query(children[1], walk_query(children[0], shape, problems), problems)
    if kind == "comparator":
        sides = [walk_query(child, shape, problems) for child in children]
        for side, other in ((sides[0], children[1]), (sides[1], children[0])):
            literal = other["value"] if other["type"] == "literal" else None
            if isinstance(side, Shape) and side.enum and isinstance(literal, str) and literal not in side.enum:
                problems.append(f"--query: '{literal}' is not one of {side.name}'s values")
        return None
    if kind == "key_val_pair":
        return walk_query(children[0], shape, problems)
    for child in children:  # multi-selects, functions, boolean operators: check what they reference
        walk_query(child, shape, problems)
    return None


def check_value(value: Any, shape: Shape, where: str, problems: list[str]) -> None:
    """A JSON value against a shape: member names, required members, enums and scalar types."""
    if shape.metadata.get("document"):
        return  # a document type holds any JSON
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            problems.append(f"{where}: expected an object for {shape.name}")
            return
        for key, item in value.items():
            if key not in shape.members:
                problems.append(f"{where}: '{key}' is not a member of {shape.name}")
            else:
                check_value(item, shape.members[key], f"{where}.{key}", problems)
        missing = [m for m in shape.required_members if m not in value]
        if missing:
            problems.append(f"{where}: {shape.name} requires {missing}")
    elif isinstance(shape, ListShape):
        if not isinstance(value, list):
            problems.append(f"{where}: expected a list for {shape.name}")
            return
        for index, item in enumerate(value):
            check_value(item, shape.member, f"{where}[{index}]", problems)
    elif isinstance(shape, MapShape):
        if not isinstance(value, dict):
            problems.append(f"{where}: expected an object for {shape.name}")
    elif shape.type_name == "string":
        if not isinstance(value, str):
            problems.append(f"{where}: expected a string")
        elif shape.enum and "$" not in value and value not in shape.enum:
            problems.append(f"{where}: '{value}' is not one of {shape.enum}")
    elif shape.type_name in ("integer", "long") and not isinstance(value, int):
        problems.append(f"{where}: expected an integer")
    elif shape.type_name == "boolean" and not isinstance(value, bool):
        problems.append(f"{where}: expected true or false")


def check_flag_value(flag: str, values: list[str], shape: Shape, problems: list[str]) -> None:
    literal = [v for v in values if "$" not in v and v != "..." and not v.startswith("<")]
    if not literal:
        return
    if isinstance(shape, (StructureShape, ListShape)) and literal[0].lstrip().startswith(("{", "[")):
        try:
            parsed = json.loads(literal[0])
        except json.JSONDecodeError as error:
            problems.append(f"--{flag}: not valid JSON ({error})")
            return
        check_value(parsed, shape, f"--{flag}", problems)
    elif isinstance(shape, StructureShape):  # shorthand: key=value,key=value
        for key, value in re.findall(r"(?:^|,)([A-Za-z][A-Za-z0-9]*)=([^,]*)", literal[0]):
            if key not in shape.members:
                problems.append(f"--{flag}: '{key}' is not a member of {shape.name}")
            else:
                check_value(value, shape.members[key], f"--{flag} {key}", problems)
    elif isinstance(shape, ListShape):
        for value in literal:
            check_value(value, shape.member, f"--{flag}", problems)
    elif shape.type_name in ("integer", "long"):
        if not re.fullmatch(r"-?\d+", literal[0]):
            problems.append(f"--{flag}: '{literal[0]}' is not an integer")
    elif shape.type_name == "string":
        check_value(literal[0], shape, f"--{flag}", problems)


def operation_of(service: str, operation: str) -> OperationModel | None:
    model = BOTOCORE.get_service_model(service)
    names = {xform_name(name, "-"): name for name in model.operation_names}
    return model.operation_model(names[operation]) if operation in names else None


def aws_flags(words: tuple[str, ...]) -> dict[str, list[str]]:
    """--flag -> the words after it up to the next flag (a flag may be given as --flag=value)."""
    flags: dict[str, list[str]] = {}
    current: list[str] | None = None
    for word in words:
        if word.startswith("--"):
            name, equals, value = word[2:].partition("=")
            current = flags.setdefault(name, [])
            if equals:
                current.append(value)
        elif current is not None:
            current.append(word)
    return flags


def check_aws(words: tuple[str, ...]) -> list[str]:
    if len(words) < 3:
        return [f"'{' '.join(words)}' names no service and operation"]
    cli_service, cli_operation = words[1], words[2]
    if cli_service == "s3":
        return [] if cli_operation in S3_HIGH_LEVEL else [f"'aws s3 {cli_operation}' is not an aws s3 command"]
    service = CLI_SERVICE_NAMES.get(cli_service, cli_service)
    if service not in BOTOCORE.get_available_services():
        return [f"'{cli_service}' is not an AWS CLI service"]
    operation = operation_of(service, cli_operation)
    if operation is None:
        return [f"'{cli_operation}' is not an operation of {cli_service}"]
    members = {xform_name(name, "-"): name for name in operation.input_shape.members}
    try:
        BOTOCORE.get_paginator_model(service).get_paginator(operation.name)
        paginates = True
    except (ValueError, botocore.exceptions.UnknownServiceError):
        paginates = False
    problems = []
    flags = {
        CLI_ARGUMENT_RENAMES.get((cli_service, cli_operation, flag), flag): values
        for flag, values in aws_flags(words[3:]).items()
    }
    for flag, values in flags.items():
        if flag in GLOBAL_FLAGS or (paginates and flag in PAGINATION_FLAGS):
            continue
        if flag.startswith("no-") and flag[3:] in members:
            if operation.input_shape.members[members[flag[3:]]].type_name != "boolean":
                problems.append(f"--{flag}: {flag[3:]} is not a boolean")
            continue
        if flag not in members:
            problems.append(f"--{flag} is not a parameter of {cli_service} {cli_operation}")
            continue
        check_flag_value(flag, values, operation.input_shape.members[members[flag]], problems)
    given = {f.removeprefix("no-") for f in flags}
    problems += [
        f"{cli_service} {cli_operation} requires --{xform_name(required, '-')}"
        for required in operation.input_shape.required_members
        if xform_name(required, "-") not in given
    ]
    for query in flags.get("query", []):
        if operation.output_shape is None:
            problems.append(f"--query on {cli_operation}, which returns nothing")
            continue
        walk_query(jmespath.parser.Parser().parse(query).parsed, operation.output_shape, problems)
    return [f"aws {cli_service} {cli_operation}: {problem}" for problem in problems]


# ------------------------------------------------------------------------------------------ stacks


@dataclass
class Stacks:
    outputs: dict[str, set[str]]  # stack name -> output keys
    extra: dict[str, set[str]] = field(default_factory=dict)  # part -> outputs only some settings add

    @property
    def parts(self) -> set[str]:
        return {name.rsplit("-", 1)[-1] for name in self.outputs}

    def resolve(self, stack_name: str) -> str | None:
        """The synthesized stack a command names: exactly, or by `-<stage>-<Part>` (for either naming scheme)."""
        if stack_name in self.outputs:
            return stack_name
        match = re.search(r"-(dev|prod)-([A-Za-z]+)$", stack_name)
        if match is None:
            return None
        suffix = f"-{match.group(1)}-{match.group(2)}"
        candidates = [name for name in self.outputs if name.endswith(suffix)]
        return candidates[0] if len(candidates) == 1 else None

    def output_keys(self, stack: str) -> set[str]:
        return self.outputs[stack] | self.extra.get(stack.rsplit("-", 1)[-1], set())


def check_stack_references(words: tuple[str, ...], stacks: Stacks) -> list[str]:
    if words[:2] != ("aws", "cloudformation"):
        return []
    flags = aws_flags(words[3:])
    names = [n for n in flags.get("stack-name", []) if "$" not in n]
    if not names:
        return []
    stack = stacks.resolve(names[0])
    if stack is None:
        return [f"stack '{names[0]}' is not synthesized (stacks: {sorted(stacks.outputs)})"]
    keys = {k for query in flags.get("query", []) for k in re.findall(r"OutputKey\s*==\s*'([^']+)'", query)}
    return [f"stack '{names[0]}' has no output '{key}'" for key in sorted(keys - stacks.output_keys(stack))]


def problems_of(commands: list[Command], stacks: Stacks) -> list[str]:
    problems = []
    for command in commands:
        if command.words[0] == "make":
            found = check_make(command.words, stacks.parts)
        elif command.words[0] == "aws":
            found = check_aws(command.words) + check_stack_references(command.words, stacks)
        else:
            continue
        problems += [f"{command.where}: {problem}" for problem in found]
    return problems


def _with_train(safety: SafetyConfig, train: list[str]) -> SafetyConfig:
    data = safety.model_dump(mode="json")
    data["custom_models"]["train"] = train
    return SafetyConfig.model_validate(data)


@pytest.fixture(scope="module")
def stacks(synth) -> Stacks:
    """The session's synth, plus the Guardrails outputs that only custom models add (trained in every stage)."""
    outputs = {name: set(template.get("Outputs", {})) for name, template in synth.templates.items()}
    custom = guardrails_beside_foundation(
        "docs-dev", safety=_with_train(load_safety_config(USECASE), ["dev", "prod"]), custom_models=True
    )
    app = custom.node.root
    assert isinstance(app, cdk.App)
    custom_outputs = set(app.synth().get_stack_by_name(custom.stack_name).template.get("Outputs", {}))
    return Stacks(outputs=outputs, extra={"Guardrails": custom_outputs})


# ------------------------------------------------------------------------------------------ tests


def test_every_page_shows_commands():
    """The checks below must have something to check: each stage page has its deploy, try and tear down."""
    names = {p.name for p in DOCS}
    assert {"foundation.md", "data.md", "knowledge.md", "security.md"} <= names
    for page in ("foundation.md", "data.md", "knowledge.md", "security.md"):
        words = [c.words for c in commands_of(ROOT / "docs" / page)]
        assert any(w[:2] == ("make", "deploy") and any(x.startswith("STACKS=") for x in w) for w in words), page
        assert any(w[:2] == ("make", "destroy") and any(x.startswith("STACKS=") for x in w) for w in words), page
        assert any(w[:3] == ("aws", "cloudformation", "describe-stacks") for w in words), page


def test_command_blocks_are_marked_as_shell():
    """A command in an unmarked block would escape every check here."""
    unmarked = [
        f"{page.name}: a ```{language or '(no language)'} block runs commands"
        for page in DOCS
        for language, content in fenced_blocks(page.read_text(encoding="utf-8"))
        if language not in SHELL_LANGUAGES and re.search(r"^\s*(\w+=\$\()?(aws|make) [a-z]", content, re.M)
    ]
    assert unmarked == []


@pytest.mark.parametrize("page", [*DOCS, ROOT / "README.md"], ids=[*(p.name for p in DOCS), "README.md"])
def test_commands_name_what_exists(page, stacks):
    assert problems_of(commands_of(page), stacks) == []


def test_the_checks_catch_stale_commands(stacks):
    """Each kind of staleness the page tests look for is reported (so a clean page means something)."""
    page = textwrap.dedent(
        """\
        ```bash
        make deploy STACKS="Data Warehouse" CDK_ARGS="-c features.vector_db=true -c stage=prod"
        make smoketest FORGE=1
        KB=$(aws cloudformation describe-stacks --stack-name journey-customer-retention-dev-Knowledge \\
          --query "Stacks[0].Outputs[?OutputKey=='KnowledgeBaseArn'].OutputValue" --output text)
        aws cloudformation describe-stacks --stack-name journey-customer-retention-dev-Warehouse
        aws bedrock-agent-runtime retrieve --knowledge-base-id "$KB" --retrieval-query query="x" \\
          --query "RetrievalResults[].content.text"
        aws bedrock-runtime apply-guardrail --guardrail-identifier g --guardrail-version 1 --source PROMPT \\
          --content '[{"text":{"txt":"hi"}}]'
        aws stepfunctions list-executions --state-machine-arn "$M" --max-items 1 --status RUNNING
        aws sns list-subscriptions-by-topic --query "Subscriptions[?Protocol=='email']"  # no --topic-arn
        aws cloudformation list-stack-resources --stack-name "$ID" \\
          --query "StackResourceSummaries[?ResourceStatus=='SKIPPED'].PhysicalResourceId"
        aws s3 copy a s3://b/c  # the CLI's word is cp; a quote in a comment ' is no quote
        aws bedrock-agent start-sync --knowledge-base-id "$KB"
        ```
        """
    )
    commands = [Command("example", words) for _, content in fenced_blocks(page) for words in simple_commands(content)]
    problems = "\n".join(problems_of(commands, stacks))
    for expected in (
        "STACKS part 'Warehouse'",
        "context key 'features.vector_db'",
        "make target 'smoketest'",
        "make variable 'FORGE'",
        "has no output 'KnowledgeBaseArn'",
        "stack 'journey-customer-retention-dev-Warehouse' is not synthesized",
        "'query' is not a member of KnowledgeBaseQuery",
        "'RetrievalResults' is not a member of RetrieveResponse",
        "'PROMPT' is not one of",
        "'txt' is not a member of GuardrailTextBlock",
        "--status is not a parameter of stepfunctions list-executions",
        "list-subscriptions-by-topic requires --topic-arn",
        "'SKIPPED' is not one of ResourceStatus's values",
        "'aws s3 copy' is not an aws s3 command",
        "'start-sync' is not an operation of bedrock-agent",
    ):
        assert expected in problems, expected


def github_anchors(text: str) -> set[str]:
    """The anchors GitHub gives the headings of a page (duplicates get -1, -2, ...)."""
    anchors: set[str] = set()
    counts: dict[str, int] = {}
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", without_fences(text), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.add(slug if slug not in counts else f"{slug}-{counts[slug]}")
        counts[slug] = counts.get(slug, 0) + 1
    return anchors


def link_problems(page: Path, only_into_docs: bool = False) -> list[str]:
    problems = []
    for target in re.findall(r"\]\(([^)\s]+)\)", without_fences(page.read_text(encoding="utf-8"))):
        if re.match(r"[a-z]+:", target):
            continue
        file_part, _, anchor = target.partition("#")
        linked = (page.parent / file_part).resolve() if file_part else page
        if only_into_docs and not linked.is_relative_to(ROOT / "docs"):
            continue
        if not linked.exists():
            problems.append(f"{page.name}: link to missing {file_part}")
        elif anchor and linked.suffix == ".md" and anchor not in github_anchors(linked.read_text(encoding="utf-8")):
            problems.append(f"{page.name}: {linked.name} has no heading for #{anchor}")
    return problems


def test_links_between_pages_resolve():
    problems = [p for page in DOCS for p in link_problems(page)]
    problems += link_problems(ROOT / "README.md", only_into_docs=True)
    assert problems == []
