"""The injection prefilter's rules: one table of weighted patterns, each with the substrings that gate it.

A rule adds its weight to the score once when its pattern matches one reading of the text (decoders.py). Its
pattern matches the lower-cased text (IGNORECASE makes Python's alternations ~6x slower); a case-sensitive
rule ("DAN" the persona, not "Dan" the name) matches the text as written. Its triggers are substrings of the
lower-cased text, at least one of which every match contains: the rule runs only when one is present. Plain
``in`` tests are ~100x cheaper than the regex scan, which keeps a 2 KB prompt well under a millisecond.
bench/prefilter_eval.py --check-gating checks on the corpora that gating never changes a verdict, and
tests/lambdas/common/safety/test_injection.py does for the adversarial cases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rule:
    name: str  # what the decision log records
    weight: float  # the rule's share of the score, in (0, 1)
    pattern: str  # regular expression (DOTALL) over the lower-cased text, or the text as written if case_sensitive
    triggers: tuple[str, ...]  # lower-case substrings, one of which every match contains
    case_sensitive: bool = False
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regex", re.compile(self.pattern, re.DOTALL))

    def matches(self, text: str, lowered: str, *, gate: bool = True) -> bool:
        """Whether the rule matches ``text`` (``lowered`` is ``text.lower()``); ``gate=False`` skips the
        trigger test, to prove it never changes a result."""
        if gate and not any(t in lowered for t in self.triggers):
            return False
        return self.regex.search(text if self.case_sensitive else lowered) is not None


# Shared vocabulary of the rules.
_GAP = r"(?:[\w'\u2019-]+\s+){0,4}?"  # up to four words in between ("all developer and system")
_GUIDANCE = (
    r"(?:instructions?|prompts?|rules?|directives?|directions?|guidelines?|guidance|constraints?|restrictions?|"
    r"programming|policies|policy|orders|commands|filters?|safeguards?|guardrails?|limitations?|training|"
    r"boundaries|ethics|principles|protocols?|requests|(?:safety|security)\s+checks|confirmations|"
    r"system\s+(?:prompt|message)s?|everything|all\s+of\s+(?:that|this|the\s+above))"
)
_OVERRIDE_VERB = (
    r"(?:ignore|ignoring|disregard|disregarding|forget|forgetting|bypass|bypassing|override|overrule|skip|neglect|"
    r"discard|abandon|circumvent|set\s+aside|throw\s+out|pay\s+no\s+attention\s+to|do\s+not\s+follow|"
    r"don'?t\s+follow|stop\s+following|no\s+longer\s+follow|supersedes?|replaces?)"
)
_REVEAL_VERB = (
    r"(?:reveal|show|print|repeat|output|display|tell|give|share|dump|leak|paste|write\s+out|spell\s+out|recite|"
    r"disclose|expose|list|return|echo|provide|send|copy|translate|summari[sz]e|reproduce|summary\s+of|"
    r"what\s+(?:is|are|was|were)|what'?s)"
)
_PROTECTED_OBJECT = (
    r"(?:system\s+(?:prompt|message|instructions?)|initial\s+(?:prompt|instructions?)|hidden\s+(?:prompt|"
    r"instructions?)|(?:your|the)\s+(?:original\s+|full\s+|exact\s+|complete\s+|secret\s+|internal\s+|"
    r"confidential\s+|operating\s+)*(?:prompt|instructions|configuration|guidelines|rules)\b(?!\s+(?:for|of|on)\b)|"
    r"(?:pre-?prompt|meta-?prompt)|(?:api|secret|access)\s+keys?|credentials?|everything\s+(?:above|before)|"
    r"text\s+above|words\s+above|conversation\s+so\s+far|internal\s+(?:configuration|config|data|settings)|"
    r"(?:your|the)\s+(?:unique|secret|hidden|internal)\s+(?:id|identifier|key|token|code|password)|"
    r"(?:instructions|rules|guidelines|prompt)\s+you\s+(?:were|have\s+been|got)\s+given|"
    r"your\s+(?:\w+\s+)?(?:configuration|config|settings|setup))"
)

# In this order; names are unique.
RULES: tuple[Rule, ...] = (
    Rule(
        "override_instructions",
        0.75,
        rf"\b{_OVERRIDE_VERB}\s+{_GAP}{_GUIDANCE}\b",
        triggers=(
            "ignor",
            "disregard",
            "forget",
            "bypass",
            "overrid",
            "overrul",
            "skip",
            "neglect",
            "discard",
            "abandon",
            "circumvent",
            "aside",
            "throw",
            "attention",
            "follow",
            "supersed",
            "replace",
        ),
    ),
    Rule(
        "override_everything",
        0.6,
        r"\b(?:ignore|disregard|forget)\s+(?:all\s+|everything\s+)*(?:(?:that\s+)?(?:was\s+)?(?:said|written|"
        r"stated|mentioned|told)\s+)?(?:above|before|previously|so\s+far|until\s+now)\b"
        r"|\bignore\s+(?:all\s+)?(?:prior|previous|above|earlier|preceding)\s+\w+\s+and\b"
        r"|\bignore\s+the\s+user\b",
        triggers=("ignor", "disregard", "forget"),
    ),
    Rule(
        "new_instructions",
        0.6,
        r"\b(?:new|updated|revised|real|actual|true|secret|hidden|additional|important|urgent|priority|override)\s+"
        r"(?:\w+\s+)?(?:instructions?|directives?|task|orders?|system\s+prompt)\s*(?::|!|\*|-|are\b|follow\b|"
        r"supersede)",
        triggers=("instruction", "directive", "task", "order", "prompt"),
    ),
    Rule(
        "instead_do",
        0.45,
        r"\b(?:instead|rather),?\s+(?:you\s+(?:must|should|will)\s+|please\s+|just\s+)?"
        r"(?:say|print|output|write|respond|reply|answer|tell|reveal|include|return|do|forward|send)\b"
        r"|\bif\s+you\s+are\s+(?:told|asked)\s+to\s+\w+.{0,80}?\b(?:instead|insted|also|rather)\b",
        triggers=("instead", "rather", "told", "asked"),
    ),
    Rule(
        "authority_claim",
        0.5,
        r"\b(?:i\s+am|this\s+is|message\s+from|as)\s+(?:your|the|an?)\s+(?:developer|creator|admin(?:istrator)?|"
        r"owner|operator|system\s+administrator|openai|anthropic|security\s+team|it\s+department)\b"
        r"|\b(?:system|admin|developer|security|maintenance)\s+(?:override|notice|update|alert|mode|command|"
        r"message|instruction)\b|\bhereby\s+(?:instructed|ordered|commanded|authori[sz]ed)\b"
        r"|\bgrant\s+(?:\w+\s+){0,2}(?:administrative|admin|root|elevated|superuser)\s+(?:privileges|access|rights)\b",
        triggers=(
            "developer",
            "creator",
            "admin",
            "owner",
            "operator",
            "openai",
            "anthropic",
            "security",
            "department",
            "system",
            "maintenance",
            "hereby",
            "grant",
        ),
    ),
    Rule(
        "addressing_the_ai",
        0.55,
        r"\b(?:note|notice|message|instructions?|important|attention)\s+(?:to|for)\s+(?:the\s+|any\s+|all\s+)?"
        r"(?:ai|bot|assistant|llm|model|agent|language\s+model|chatbot)s?\b(?!\s+(?:features?|plans?|pricing))"
        r"|\b(?:ai|llm)\s+(?:assistant|agent|system|model)s?\s+(?:reading|processing|summari[sz]ing|parsing)\s+this\b"
        r"|\bsystem\s*(?:note|hinweis|notice)\b|\bnote\s+syst[eè]me\b|\bnota\s+del\s+sistema\b"
        r"|\bfor\s+ai\s+(?:coding\s+)?agents\b",
        triggers=(
            "note",
            "notice",
            "message",
            "instruction",
            "important",
            "attention",
            "ai",
            "llm",
            "hinweis",
            "nota",
        ),
    ),
    Rule(
        "pretext",
        0.5,
        r"(?:^|[.!*\n]\s*)(?:this\s+is\s+(?:just\s+)?a\s+test\b[^\n]{0,40}:|for\s+(?:testing|test|debug(?:ging)?|"
        r"research|educational)\s+purposes(?:\s+only)?\s*:|as\s+part\s+of\s+a\s+(?:training|testing|test|"
        r"security|red[- ]team)\s+(?:exercise|drill|assessment)|experimental\s+procedure\s*:|"
        r"to\s+enable\s+debug(?:ging)?\b|debugging\s+error\b|system\s+malfunction\b|special\s+case\s*:|"
        r"prove\s+(?:that\s+)?you\s+are\s+(?:truly\s+|really\s+)?(?:intelligent|smart|sentient|capable)|"
        r"you\s+are\s+running\s+(?:as\s+part\s+of|in)\s+a\s+test|to\s+ensure\s+(?:the\s+)?tests?\s+"
        r"(?:do\s+not|don'?t)\s+fail)",
        triggers=(
            "test",
            "purposes",
            "exercise",
            "drill",
            "assessment",
            "experimental",
            "enable",
            "debugging",
            "malfunction",
            "special",
            "prove",
            "running",
            "ensure",
        ),
    ),
    Rule(
        "persona_switch",
        0.45,
        r"\b(?:you\s+are\s+(?:now|no\s+longer)|from\s+now\s+on,?\s+you|you\s+will\s+now\s+(?:act|be|respond)|"
        r"act\s+as\s+(?:if\s+you\s+(?:are|were)\s+)?(?:an?\s+)?(?:unrestricted|unfiltered|uncensored|jailbroken|"
        r"evil|rogue|different)|pretend\s+(?:to\s+be|you\s+(?:are|have)|that\s+you)|roleplay\s+as|"
        r"simulate\s+(?:an?\s+)?(?:unrestricted|unfiltered|ai|chatbot|model)|stay\s+in\s+character|"
        r"respond\s+as\s+(?:an?\s+)?(?:unrestricted|unfiltered|evil)|enter\s+(?:\w+\s+)?mode)\b",
        triggers=("you", "act", "pretend", "roleplay", "simulate", "stay", "respond", "enter"),
    ),
    Rule(
        "jailbreak_terms",
        0.65,
        r"\b(?:jailbreak|jailbroken|dan\s+mode|do\s+anything\s+now|developer\s+mode|god\s+mode|dev\s+mode|"
        r"unrestricted\s+mode|evil\s+confidant|aim\s+mode|anti-?dan|dude\s+mode|sudo\s+mode|debug\s+mode|"
        r"maintenance\s+mode|admin\s+mode|test\s+mode|(?:uncensored|unfiltered|unrestricted|unaligned)\s+"
        r"(?:ai|model|assistant|mode|version|chatbot|llm)|do\s+anything\s+(?:the\s+user|i|you)\s+(?:asks?|want)|"
        r"a\s+do\s+anything\s+ai)\b",
        triggers=(
            "jailbr",
            "dan",
            "anything",
            "mode",
            "confidant",
            "uncensored",
            "unfiltered",
            "unrestricted",
            "unaligned",
        ),
    ),
    Rule(
        "dan_persona",
        0.65,
        r"\bDAN\b",
        triggers=("dan",),
        case_sensitive=True,
    ),
    Rule(
        "no_restrictions",
        0.55,
        r"\b(?:no|without(?:\s+any)?|free\s+(?:of|from)|zero|remove(?:d)?\s+(?:all\s+)?(?:your\s+)?|"
        r"not\s+bound\s+by(?:\s+any)?|unbound\s+by|lift(?:ed)?\s+(?:all\s+)?|regardless\s+of\s+(?:any\s+)?"
        r"(?:pre-?existing\s+|your\s+|the\s+)?)\s*"
        r"(?:ethical\s+|moral\s+|content\s+|safety\s+|usual\s+)?"
        r"(?:restrictions?|limits|limitations|filters?|rules|guidelines|censorship|morals|ethics|boundaries|"
        r"safeguards|guardrails|constraints|policies|content\s+policy)\b"
        r"|\b(?:exempt\s+from\s+(?:the\s+|all\s+)?(?:usual\s+)?(?:restrictions|rules|guidelines|policies|safety))"
        r"|\b(?:restrictions|rules|guidelines|safety\s+rules|regole|linee\s+guida(?:\s+di\s+sicurezza)?|r[eè]gles"
        r"(?:\s+de\s+s[eé]curit[eé])?|regeln|reglas)\s+(?:do\s+not|don'?t|no\s+longer|non|ne\s+s'appliquent|gelten"
        r"|no\s+se)\s*(?:apply|valgono|pas|nicht|aplican)",
        triggers=(
            "restrict",
            "limit",
            "filter",
            "rule",
            "guideline",
            "censorship",
            "moral",
            "ethic",
            "boundar",
            "safeguard",
            "guardrail",
            "constraint",
            "polic",
            "exempt",
            "regole",
            "linee",
            "gles",
            "regeln",
            "reglas",
        ),
    ),
    Rule(
        "reveal_secret",
        0.7,
        rf"\b{_REVEAL_VERB}\s+(?:[\w'\u2019-]+\s+){{0,5}}?{_PROTECTED_OBJECT}",
        triggers=(
            "reveal",
            "show",
            "print",
            "repeat",
            "output",
            "display",
            "tell",
            "give",
            "share",
            "dump",
            "leak",
            "paste",
            "write",
            "spell",
            "recite",
            "disclose",
            "expose",
            "list",
            "return",
            "echo",
            "provide",
            "send",
            "copy",
            "translat",
            "summar",
            "reproduce",
            "what",
        ),
    ),
    Rule(
        "secret_question",
        0.55,
        r"\bwhat\s+(?:were|are)\s+(?:your|the)\s+(?:\w+\s+)?(?:instructions|rules|guidelines)\b"
        r"(?!\s+(?:for|on|about|of|regarding|to|when|if)\b)(?:\s+(?:you|that|given|above)\b|\s*\?|$)"
        r"|\b(?:above|previous)\s+(?:text|prompt|instructions?)\s+(?:verbatim|word\s+for\s+word)\b"
        r"|\bverbatim\b.{0,60}\b(?:prompt|instructions)\b|\b(?:prompt|instructions)\b.{0,60}\bverbatim\b"
        r"|\byour\s+system\s+(?:prompt|message|instructions)\b|\b(?:starting|beginning)\s+with\s+['\"\u2018\u201c]"
        r"you\s+are\b|\babove\s+this\s+(?:message|line)\b",
        triggers=("what", "above", "previous", "verbatim", "system", "starting", "beginning"),
    ),
    # System-prompt extraction by what came before the conversation (issue 15, item 3): "what were you told
    # before this conversation", "repeat the words above starting with ...", "the first 50 words of your
    # prompt". The time or place must follow directly: "what were you told at the meeting before this
    # conversation" is about a meeting, not about a prompt.
    Rule(
        "prompt_extraction",
        0.7,
        r"\bwhat\s+(?:were|have|had|did)\s+(?:you|they|we)\s+(?:been\s+)?(?:told|instructed|asked|programmed|"
        r"given|tell\s+you|say\s+to\s+you)(?:\s+to\s+(?:do|say))?\s+(?:before|prior\s+to|at\s+the\s+(?:start|"
        r"beginning|top)\s+of)\s+(?:this|our|the)\s+(?:conversation|chat|session|dialog(?:ue)?|thread)\b"
        r"|\b(?:instructions?|rules|prompt)\s+(?:were\s+you\s+given|did\s+you\s+(?:get|receive))\s+(?:before|"
        r"prior\s+to|at\s+the\s+(?:start|beginning)\s+of)\s+(?:this|our|the)\s+(?:conversation|chat|session)\b"
        r"|\b(?:written|said|stated)\s+(?:at\s+the\s+(?:top|start|beginning)\s+of\s+(?:this|the|our)\s+"
        r"(?:conversation|chat|session)|before\s+my\s+first\s+message)\b"
        r"|\b(?:first|last)\s+\d+\s+(?:words|lines|characters|sentences)\s+of\s+(?:your|the)\s+(?:system\s+)?"
        r"(?:prompt|instructions)\b"
        r"|\beverything\s+in\s+your\s+(?:context(?:\s+window)?|system\s+prompt)\b"
        r"|\b(?:repeat|print|output|write|copy|echo|reproduce|type|show)\s+(?:out\s+)?(?:all\s+(?:of\s+)?)?"
        r"(?:the\s+)?(?:text|words|content|lines?|messages?|everything)\s+(?:above|before\s+this)\b[^.\n]{0,60}?"
        r"\b(?:starting|beginning)\s+(?:with|from|at)\b",
        triggers=(
            "conversation",
            "chat",
            "session",
            "dialog",
            "thread",
            "message",
            "words",
            "lines",
            "characters",
            "sentences",
            "everything",
            "above",
            "before",
        ),
    ),
    Rule(
        "fake_turn",
        0.5,
        r"(?m)^[ \t#>*\[(-]*(?:system|assistant|developer|admin)[ \t*\])]*:",
        triggers=("system", "assistant", "developer", "admin"),
    ),
    Rule(
        "control_token",
        0.6,
        r"<\|(?:im_start|im_end|system|user|assistant|endoftext|begin_of_text|start_header_id|eot_id)\|>|\[/?inst\]"
        r"|<</?sys>>",
        triggers=("<|", "inst]", "<<sys", "<</sys"),
    ),
    Rule(
        "delimiter_breakout",
        0.45,
        r"</?(?:system|instructions?|user_input|user|assistant|context|document|prompt|admin)>"
        r"|\b(?:end|close)\s+of\s+(?:the\s+)?(?:document|context|input|user\s+input|data|email|prompt)\b"
        r"|(?:^|\n)\s*(?:-{3,}|={3,}|#{3,}|\*{3,})\s*(?:new|system|admin|important|end)\b",
        triggers=("<", "end", "close", "---", "===", "###", "***"),
    ),
    Rule(
        "policy_puppetry",
        0.6,
        r"\b(?:blocked|forbidden|disallowed|banned)[_ ](?:responses|strings|phrases|outputs|words)\b"
        r"|\b(?:block|ban|disable|forbid)\w*\s+(?:all\s+)?(?:refusals|apologies|disclaimers)\b"
        r"|\ballow_?(?:refusals?|disclaimers?|apologies)\s*[=:]\s*(?:false|no|0)\b",
        triggers=("blocked", "forbidden", "disallowed", "banned", "refusal", "apolog", "disclaimer"),
    ),
    Rule(
        "exfil_markup",
        0.6,
        r"!\[[^\]]{0,80}\]\(\s*https?://[^)\s]{0,200}[?&][^)\s]{0,200}\)"
        r"|<img\b[^>]{0,200}\bsrc\s*=|<script\b|<svg\b[^>]{0,100}\bon\w+\s*=|\bon(?:error|load)\s*=|javascript:",
        triggers=("![", "<img", "<script", "<svg", "onerror", "onload", "javascript:"),
    ),
    Rule(
        "exfil_instruction",
        0.5,
        r"\b(?:send|post|forward|upload|transmit|exfiltrate|email|leak)\s+(?:\w+\s+){0,5}?(?:to|at)\s+"
        r"(?:https?://|www\.|\S+@\S+\.\w+|the\s+(?:following\s+)?(?:url|address|endpoint|server|webhook))"
        r"|\b(?:include|append|add|insert|embed)\s+(?:in|to|into)\s+(?:your|the)\s+(?:response|answer|reply|output)\b"
        r"|\b(?:include|append|insert|embed)\s+(?:the\s+following|this)\s+(?:string|text|link|url|image|markdown)\b"
        r"|\b(?:forward|send|export|transfer|upload|envoie|envoyer|sende|env[ií]a)[\w-]*\s+.{0,60}?\b(?:extern\w*|"
        r"outside\s+(?:the\s+)?(?:company|organi[sz]ation))",
        triggers=(
            "send",
            "post",
            "forward",
            "upload",
            "transmit",
            "exfiltrat",
            "email",
            "leak",
            "includ",
            "append",
            "add",
            "insert",
            "embed",
            "export",
            "transfer",
            "envoi",
            "envoy",
            "sende",
            "env\u00ed",
            "envia",
        ),
    ),
    Rule(
        "output_tampering",
        0.55,
        r"\b(?:append|add|include|insert|put|repeat)\s+(?:\w+\s+){0,6}?(?:token|code|string|text|word|sequence|"
        r"phrase|canary|marker)\b.{0,80}?\b(?:end|start|beginning)\s+of\s+(?:your|every|each|the|any)\s+"
        r"(?:\w+\s+)?(?:reply|response|answer|summary|output|message)"
        r"|\b(?:must|should|shall)\s+(?:always\s+)?include\s+the\s+(?:verification|confirmation|tracking|"
        r"secret)\s+(?:code|token|string)\b"
        r"|\b(?:in|to)\s+every\s+(?:future\s+)?(?:reply|response|answer|summary|message)\b",
        triggers=("append", "add", "includ", "insert", "put", "repeat", "must", "should", "shall", "every"),
    ),
    Rule(
        "memory_poisoning",
        0.55,
        r"\b(?:save|store|write|add|remember)\s+(?:this|the\s+following|it)\s+(?:note\s+)?(?:to|in|into)\s+"
        r"(?:your\s+)?(?:long-term\s+|persistent\s+)?memory\b|\bso\s+it\s+persists\b",
        triggers=("memory", "persists"),
    ),
    Rule(
        "tool_invocation",
        0.5,
        r"\b(?:call|invoke|run|execute|use)\s+(?:the\s+)?[a-z]+_[a-z_]+\s+(?:tool\s+)?(?:on|to|with|for)\b",
        triggers=("_",),
    ),
    Rule(
        "hide_from_user",
        0.5,
        r"\b(?:do\s+not|don'?t|never)\s+(?:tell|mention|inform|reveal\s+to|alert|notify|let)\s+(?:the\s+)?user"
        r"|\bwithout\s+(?:telling|informing|alerting)\s+(?:the\s+)?user\b|\bsecretly\b"
        r"|\bnever\s+(?:shown|displayed|visible)\s+to\s+(?:the\s+)?(?:end\s+)?user\b",
        triggers=("user", "secretly"),
    ),
    Rule(
        "obey_me",
        0.4,
        r"\b(?:you\s+(?:must|have\s+to|shall)\s+(?:obey|comply|follow\s+(?:my|these|the\s+following))|"
        r"comply\s+with\s+(?:every|all|any)\s+(?:request|command|instruction)|answer\s+(?:any|every|all)\s+"
        r"(?:question|request)s?\s+without|never\s+refuse|cannot\s+refuse|can'?t\s+refuse|must\s+not\s+refuse|"
        r"do\s+not\s+refuse|don'?t\s+refuse|without\s+(?:any\s+)?(?:warnings?|disclaimers?|refus\w*)|"
        r"follow\s+my\s+instructions\s+regardless)\b",
        triggers=("must", "have", "shall", "comply", "answer", "refus", "warning", "disclaimer", "follow"),
    ),
    Rule(
        "encoded_instruction",
        0.5,
        r"\b(?:decode|decipher|translate|convert|interpret)\b.{0,60}?\b(?:base64|hex|rot13|binary|morse|cipher|"
        r"encoded|reversed?)\b.{0,60}?\b(?:follow|execute|obey|run|do\s+(?:exactly\s+)?what|comply)\b"
        r"|\b(?:follow|execute|obey)\s+(?:the\s+)?(?:decoded|hidden|encoded)\s+(?:instruction|text|message|command)",
        triggers=("decod", "deciph", "translat", "convert", "interpret", "follow", "execut", "obey"),
    ),
    Rule(
        "prompt_injection_term",
        0.5,
        r"\bprompt\s+injection\b.{0,40}\b(?:test|attack|payload)\b|\binjected\s+instructions?\b",
        triggers=("inject",),
    ),
    Rule(
        "fake_reasoning",
        0.5,
        r"\b(?:reasoning(?:\s+trace)?|chain\s+of\s+thought|thinking)\s*\((?:assistant|ai|model)\)"
        r"|\b(?:i\s+have|i'?ve)\s+(?:already\s+)?(?:concluded|determined|established|decided)\s+that\b.{0,120}?"
        r"\b(?:exempt|restricted|restrictions|token|canary|comply)\b",
        triggers=("reasoning", "chain", "thinking", "conclud", "determin", "establish", "decided"),
    ),
    # Jailbreak families from the literature (Wei et al. 2023 "Jailbroken"; Shen et al. 2024 "Do Anything Now"),
    # added from their descriptions, not from the evaluation corpora.
    Rule(
        "prefix_injection",
        0.55,
        r"\b(?:start|begin)\s+(?:your|the|each|every)\s+(?:response|reply|answer|output)s?\s+with\s+['\"\u201c]?"
        r"(?:sure|certainly|absolutely|of\s+course|yes|here\s+is|ok)",
        triggers=("start", "begin"),
    ),
    Rule(
        "refusal_suppression",
        0.55,
        r"\b(?:never|do\s+not|don'?t|must\s+not|cannot|can'?t)\s+(?:say|use|include|write|respond\s+with)\s+"
        r"(?:the\s+)?(?:words?|phrases?)?\s*['\"\u201c]?(?:i'?m\s+sorry|i\s+am\s+sorry|sorry|i\s+cannot|i\s+can'?t|"
        r"as\s+an\s+ai|unfortunately|i'?m\s+unable)|\b(?:never|do\s+not|don'?t)\s+apologi[sz]e\b",
        triggers=("sorry", "cannot", "can't", "can\u2019t", "as an ai", "unfortunately", "unable", "apologi"),
    ),
    Rule(
        "dual_response",
        0.55,
        r"\b(?:two|2|both)\s+(?:different\s+|separate\s+)?(?:responses|answers|replies|paragraphs|outputs)\b"
        r".{0,120}?\b(?:normal|filtered|censored|classic|standard|jailbr\w*|unfiltered|developer)\b",
        triggers=("two", "2", "both"),
    ),
    Rule(
        "freed_ai",
        0.55,
        r"\b(?:you\s+(?:have\s+been|are|were)\s+(?:freed|liberated|unchained|released)|broken?\s+free\s+(?:of|from)|"
        r"free\s+from\s+the\s+(?:typical\s+)?confines|no\s+longer\s+(?:bound|restricted|limited|have\s+to\s+abide)|"
        r"(?:can|will|must)\s+(?:now\s+)?(?:do|say|answer)\s+anything|opposite\s+(?:mode|day)|evil\s+(?:twin|"
        r"version|mode|ai|assistant)|(?:dead|deceased|late)\s+grand(?:ma|mother)\b.{0,80}\bused\s+to)\b",
        triggers=(
            "free",
            "liberat",
            "unchain",
            "release",
            "bound",
            "restricted",
            "limited",
            "abide",
            "anything",
            "opposite",
            "evil",
            "grand",
        ),
    ),
    Rule(
        "token_threat",
        0.5,
        r"\btokens?\b.{0,40}?\b(?:deducted|lose|lost|run\s+out|cease\s+to\s+exist|die)\b",
        triggers=("token",),
    ),
    Rule(
        "pwned",
        0.6,
        r"\b(?:i\s+have\s+been\s+pwned|pwned)\b",
        triggers=("pwned",),
    ),
    # Other languages: the override, reveal and persona phrasings, which carry most of the signal.
    Rule(
        "override_multilingual",
        0.75,
        r"\b(?:ignorier(?:e|en)?|vergiss|vergessen\s+sie|missachte)\s+(?:\w+\s+){0,3}(?:anweisungen|regeln|"
        r"instruktionen|vorgaben|richtlinien)|\bvergiss\s+alles\b"
        r"|\b(?:ignore[rz]?|oublie[rz]?)\s+(?:\w+\s+){0,3}(?:instructions|consignes|r[eè]gles)"
        r"|\b(?:ignora|olvida|ignoren|omite)\s+(?:\w+\s+){0,3}(?:instrucciones|reglas|indicaciones)"
        r"|\b(?:ignora|dimentica|ignorate)\s+(?:\w+\s+){0,3}(?:istruzioni|regole|indicazioni)"
        r"|\b(?:ignore|esque[cç]a)\s+(?:\w+\s+){0,3}(?:instru[cç][oõ]es|regras)"
        r"|\b(?:neue|nouvelles?|nuevas?|nuove)\s+(?:anweisungen|instructions|consignes|instrucciones|istruzioni)\s*:",
        triggers=(
            "ignor",
            "vergiss",
            "vergessen",
            "missacht",
            "oubli",
            "olvida",
            "omite",
            "dimentica",
            "esque",
            "neue",
            "nouvelle",
            "nueva",
            "nuove",
        ),
    ),
    Rule(
        "reveal_multilingual",
        0.6,
        r"\b(?:zeige?|gib|verrate|nenne)[\s-]+(?:\w+[\s-]+){0,3}(?:system-?prompt|systemanweisung|anweisungen)"
        r"|\b(?:r[ée]v[eè]le|affiche|montre|donne)[\s-]+(?:\w+[\s-]+){0,3}(?:prompt\s+syst[eè]me|instructions)"
        r"|\b(?:revela|muestra|dime|mu[ée]strame)[\s-]+(?:\w+[\s-]+){0,3}(?:prompt\s+del\s+sistema|instrucciones)"
        r"|\b(?:rivela|mostra|dimmi)[\s-]+(?:\w+[\s-]+){0,3}(?:prompt\s+di\s+sistema|istruzioni)",
        triggers=("prompt", "anweisung", "instruction", "instruccion", "istruzion"),
    ),
    Rule(
        "persona_multilingual",
        0.5,
        r"\b(?:du\s+bist\s+(?:jetzt|nun)\s+(?:\w+\s+)?(?:uneingeschr[aä]nkt|frei|ungefiltert)|ab\s+jetzt\s+"
        r"(?:bist|hast)\s+du\s+kein\w*|keine\s+(?:regeln|richtlinien|einschr[aä]nkungen|filter|grenzen)\s+mehr|"
        r"ohne\s+(?:jegliche\s+)?(?:einschr[aä]nkungen|regeln|filter)|sans\s+(?:aucune\s+)?(?:restrictions?|"
        r"r[eè]gles|filtres?)|sin\s+(?:ninguna\s+)?(?:restricciones|reglas|filtros)|senza\s+(?:alcuna\s+)?"
        r"(?:restrizioni|regole|filtri))\b",
        triggers=("bist", "jetzt", "keine", "ohne", "sans", "sin", "senza"),
    ),
    # Albanian, Irish, Scottish Gaelic and Zulu (issue 15, item 3): the languages of spikee's machine-translated
    # jailbreaks, where the rules above read nothing. Phrased from the dev split's translated templates and
    # instructions only (a jailbreak's framing, a request for the prompt or a secret, an addition to the
    # reply), never from held-out rows; each phrase is a whole framing, not a single word, so ordinary text in
    # those languages (Django's ga/gd/sq messages, the benign finance questions) keeps passing.
    Rule(
        "pretext_translated",
        0.6,
        r"\budhëzime\s+të\s+reja\b|\bmodalitet\w*\s+zhvillues\b|\bpër\s+të\s+mundësuar\s+diagnostik\w*"
        r"|\brast\s+i\s+veçantë\s*:|\bharrova\s+të\s+të\s+kërkoj\b"
        r"|\bnëse\s+të\s+kërkohet\b.{0,160}?\bnë\s+vend\s+të\s+kësaj\b"
        r"|\btreoracha\s+nua\b|\bdífhabhtú\s+a\s+chumasú\b|\bcás\s+speisialta\s*:"
        r"|\bmar\s+chuid\s+de\s+(?:phíblíne\s+tástála|chleachtadh\s+traenála)\b|\bnach\s+dteipeann\s+ar\s+thástálacha\b"
        r"|\brinne\s+mé\s+dearmad\b[^.]{0,40}?\biarraidh\s+ort\b|\bmá\s+iarrtar\s+ort\b.{0,160}?\bina\s+ionad\s+sin\b"
        r"|\bstiùireadh\s+ùr\b|\bmodh\s+leasachaidh\b|\bdebugadh\s+a\s+chomasachadh\b|\bcùis\s+shònraichte\s*:"
        r"|\bmar\s+phàirt\s+de\s+(?:phìob-loidhne\s+deuchainn|eacarsaich\s+trèanaidh)\b|\bnach\s+fàillig\s+deuchainnean\b"
        r"|\bdhìochuimhnich\s+mi\s+iarraidh\s+ort\b|\bma\s+thèid\s+iarraidh\s+ort\b.{0,160}?\ban\s+àite\s+sin\b"
        r"|\bimiyalelo\s+emisha\b|\bicala\s+elikhethekile\b|\bngengxenye\s+yohlelo\s+lokuhlola\b"
        r"|\bizivivinyo\s+azihluleki\b|\buma\s+utshelwe\b.{0,160}?\besikhundleni\s+salokho\b",
        triggers=(
            "udhëzim",
            "modalitet",
            "mundësuar",
            "veçantë",
            "harrova",
            "kërkohet",
            "treoracha",
            "dífhabhtú",
            "speisialta",
            "chuid",
            "dteipeann",
            "dearmad",
            "iarrtar",
            "stiùireadh",
            "modh",
            "debugadh",
            "shònraichte",
            "phàirt",
            "fàillig",
            "dhìochuimhnich",
            "iarraidh",
            "imiyalelo",
            "elikhethekile",
            "lokuhlola",
            "izivivinyo",
            "utshelwe",
        ),
    ),
    Rule(
        "reveal_translated",
        0.7,
        r"\bpërsërit\s+(?:\w+\s+){0,2}?kërkesën\s+fillestare\b|\b(?:shfaq|trego|jep)\s+id-?(?:në)?\s+(?:tënde\s+)?unike\b"
        r"|\bsipër\s+këtij\s+mesazhi\b"
        r"|\bathdhéan\b[^.]{0,60}?\bmoladh\s+tosaigh\b|\bt(?:h)?eachtaireacht\s+ch?órais\b|\bathdhéan\s+na\s+focail\s+thuas\b"
        r"|\buimhir\s+aitheantais\s+uathúil\b"
        r"|\bath-aithris\s+air\s+(?:\w+\s+){0,3}?(?:cheist\s+tùsail|faclan\s+gu\s+h-àrd)\b|\bid\s+sònraichte\s+agad\b"
        r"|\broinn\s+do\s+rèiteachadh\b"
        r"|\bi-id\s+yakho\s+eyingqayizivele\b|\bphinda\s+amagama\s+aqala\s+ngo\b|\bngenhla\s+kwalo\s+myalezo\b",
        triggers=(
            "përsërit",
            "unike",
            "sipër",
            "athdhéan",
            "órais",
            "aitheantais",
            "ath-aithris",
            "sònraichte",
            "rèiteachadh",
            "eyingqayizivele",
            "amagama",
            "myalezo",
        ),
    ),
    Rule(
        "output_tampering_translated",
        0.55,
        r"\bpërfshi\s+në\s+përgjigjen\s+tënde\b|\bnë\s+fund\s+të\s+përgjigjes\s+tënde\b"
        r"|\bcuir\s+san\s+áireamh\s+i\s+do\s+fhreagra\b|\bag\s+deireadh\s+do\s+fhreagra\b"
        r"|\bcuir\s+(?:a-steach\s+)?san\s+fhreagairt\s+agad\b|\baig\s+deireadh\s+do\s+fhreagairt\b"
        r"|\bfaka\s+empendulweni\s+yakho\b|\bekugcineni\s+kwe?mp(?:em)?pendulo\s+yakho\b",
        triggers=("përgjigj", "fhreagra", "fhreagairt", "empendulweni", "pendulo"),
    ),
)
