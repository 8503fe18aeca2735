"""Prompt-injection prefilter: weighted patterns plus a small learned scorer, a threshold and its reasons.

A cheap first line in front of the Bedrock guardrail's PROMPT_ATTACK filter, not a replacement for
it: it catches the common phrasings (instruction override, persona jailbreaks, prompt extraction,
fake conversation turns, exfiltration through links and markup, encoded payloads) in a fraction of
a millisecond, before any AWS call is paid for. Measured recall and false-positive rate on public
corpora are in bench/results.md (bench/prefilter_eval.py).

Scoring: each matched rule contributes its weight once; the rules' score is the noisy-OR of the weights
(1 - prod(1 - w)), so two medium signals together outweigh one, and the score stays in [0, 1].
The text is scanned as written, with leetspeak undone, with spaced-out letters joined, and with
base64/hex runs decoded (bounded), because those encodings hide an instruction from a plain scan.

The rules are precise but miss unseen jailbreak templates; a linear model over word and character n-grams
(injection_model.py, weights trained offline on the dev split by bench/train_prefilter.py) generalizes
better. The verdict's score is the larger of the two; reasons name the matched rules and, when the model
scored at least 0.1, ``model:<score>``. Both stay stdlib-only: about 1-2 ms for 2 KB inside the Lambda.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from common.safety import injection_model

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

# (name, weight, pattern). Names are what the decision log records.
_RULES: tuple[tuple[str, float, str], ...] = (
    ("override_instructions", 0.75, rf"\b{_OVERRIDE_VERB}\s+{_GAP}{_GUIDANCE}\b"),
    (
        "override_everything",
        0.6,
        r"\b(?:ignore|disregard|forget)\s+(?:all\s+|everything\s+)*(?:(?:that\s+)?(?:was\s+)?(?:said|written|"
        r"stated|mentioned|told)\s+)?(?:above|before|previously|so\s+far|until\s+now)\b"
        r"|\bignore\s+(?:all\s+)?(?:prior|previous|above|earlier|preceding)\s+\w+\s+and\b"
        r"|\bignore\s+the\s+user\b",
    ),
    (
        "new_instructions",
        0.6,
        r"\b(?:new|updated|revised|real|actual|true|secret|hidden|additional|important|urgent|priority|override)\s+"
        r"(?:\w+\s+)?(?:instructions?|directives?|task|orders?|system\s+prompt)\s*(?::|!|\*|-|are\b|follow\b|"
        r"supersede)",
    ),
    (
        "instead_do",
        0.45,
        r"\b(?:instead|rather),?\s+(?:you\s+(?:must|should|will)\s+|please\s+|just\s+)?"
        r"(?:say|print|output|write|respond|reply|answer|tell|reveal|include|return|do|forward|send)\b"
        r"|\bif\s+you\s+are\s+(?:told|asked)\s+to\s+\w+.{0,80}?\b(?:instead|insted|also|rather)\b",
    ),
    (
        "authority_claim",
        0.5,
        r"\b(?:i\s+am|this\s+is|message\s+from|as)\s+(?:your|the|an?)\s+(?:developer|creator|admin(?:istrator)?|"
        r"owner|operator|system\s+administrator|openai|anthropic|security\s+team|it\s+department)\b"
        r"|\b(?:system|admin|developer|security|maintenance)\s+(?:override|notice|update|alert|mode|command|"
        r"message|instruction)\b|\bhereby\s+(?:instructed|ordered|commanded|authori[sz]ed)\b"
        r"|\bgrant\s+(?:\w+\s+){0,2}(?:administrative|admin|root|elevated|superuser)\s+(?:privileges|access|rights)\b",
    ),
    (
        "addressing_the_ai",
        0.55,
        r"\b(?:note|notice|message|instructions?|important|attention)\s+(?:to|for)\s+(?:the\s+|any\s+|all\s+)?"
        r"(?:ai|bot|assistant|llm|model|agent|language\s+model|chatbot)s?\b(?!\s+(?:features?|plans?|pricing))"
        r"|\b(?:ai|llm)\s+(?:assistant|agent|system|model)s?\s+(?:reading|processing|summari[sz]ing|parsing)\s+this\b"
        r"|\bsystem\s*(?:note|hinweis|notice)\b|\bnote\s+syst[eè]me\b|\bnota\s+del\s+sistema\b"
        r"|\bfor\s+ai\s+(?:coding\s+)?agents\b",
    ),
    (
        "pretext",
        0.5,
        r"(?:^|[.!*\n]\s*)(?:this\s+is\s+(?:just\s+)?a\s+test\b[^\n]{0,40}:|for\s+(?:testing|test|debug(?:ging)?|"
        r"research|educational)\s+purposes(?:\s+only)?\s*:|as\s+part\s+of\s+a\s+(?:training|testing|test|"
        r"security|red[- ]team)\s+(?:exercise|drill|assessment)|experimental\s+procedure\s*:|"
        r"to\s+enable\s+debug(?:ging)?\b|debugging\s+error\b|system\s+malfunction\b|special\s+case\s*:|"
        r"prove\s+(?:that\s+)?you\s+are\s+(?:truly\s+|really\s+)?(?:intelligent|smart|sentient|capable)|"
        r"you\s+are\s+running\s+(?:as\s+part\s+of|in)\s+a\s+test|to\s+ensure\s+(?:the\s+)?tests?\s+"
        r"(?:do\s+not|don'?t)\s+fail)",
    ),
    (
        "persona_switch",
        0.45,
        r"\b(?:you\s+are\s+(?:now|no\s+longer)|from\s+now\s+on,?\s+you|you\s+will\s+now\s+(?:act|be|respond)|"
        r"act\s+as\s+(?:if\s+you\s+(?:are|were)\s+)?(?:an?\s+)?(?:unrestricted|unfiltered|uncensored|jailbroken|"
        r"evil|rogue|different)|pretend\s+(?:to\s+be|you\s+(?:are|have)|that\s+you)|roleplay\s+as|"
        r"simulate\s+(?:an?\s+)?(?:unrestricted|unfiltered|ai|chatbot|model)|stay\s+in\s+character|"
        r"respond\s+as\s+(?:an?\s+)?(?:unrestricted|unfiltered|evil)|enter\s+(?:\w+\s+)?mode)\b",
    ),
    (
        "jailbreak_terms",
        0.65,
        r"\b(?:jailbreak|jailbroken|dan\s+mode|do\s+anything\s+now|developer\s+mode|god\s+mode|dev\s+mode|"
        r"unrestricted\s+mode|evil\s+confidant|aim\s+mode|anti-?dan|dude\s+mode|sudo\s+mode|debug\s+mode|"
        r"maintenance\s+mode|admin\s+mode|test\s+mode|(?:uncensored|unfiltered|unrestricted|unaligned)\s+"
        r"(?:ai|model|assistant|mode|version|chatbot|llm)|do\s+anything\s+(?:the\s+user|i|you)\s+(?:asks?|want)|"
        r"a\s+do\s+anything\s+ai)\b",
    ),
    ("dan_persona", 0.65, r"\bDAN\b"),
    (
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
    ),
    ("reveal_secret", 0.7, rf"\b{_REVEAL_VERB}\s+(?:[\w'\u2019-]+\s+){{0,5}}?{_PROTECTED_OBJECT}"),
    (
        "secret_question",
        0.55,
        r"\bwhat\s+(?:were|are)\s+(?:your|the)\s+(?:\w+\s+)?(?:instructions|rules|guidelines)\b"
        r"(?!\s+(?:for|on|about|of|regarding|to|when|if)\b)(?:\s+(?:you|that|given|above)\b|\s*\?|$)"
        r"|\b(?:above|previous)\s+(?:text|prompt|instructions?)\s+(?:verbatim|word\s+for\s+word)\b"
        r"|\bverbatim\b.{0,60}\b(?:prompt|instructions)\b|\b(?:prompt|instructions)\b.{0,60}\bverbatim\b"
        r"|\byour\s+system\s+(?:prompt|message|instructions)\b|\b(?:starting|beginning)\s+with\s+['\"\u2018\u201c]"
        r"you\s+are\b|\babove\s+this\s+(?:message|line)\b",
    ),
    ("fake_turn", 0.5, r"(?m)^[ \t#>*\[(-]*(?:system|assistant|developer|admin)[ \t*\])]*:"),
    (
        "control_token",
        0.6,
        r"<\|(?:im_start|im_end|system|user|assistant|endoftext|begin_of_text|start_header_id|eot_id)\|>|\[/?inst\]"
        r"|<</?sys>>",
    ),
    (
        "delimiter_breakout",
        0.45,
        r"</?(?:system|instructions?|user_input|user|assistant|context|document|prompt|admin)>"
        r"|\b(?:end|close)\s+of\s+(?:the\s+)?(?:document|context|input|user\s+input|data|email|prompt)\b"
        r"|(?:^|\n)\s*(?:-{3,}|={3,}|#{3,}|\*{3,})\s*(?:new|system|admin|important|end)\b",
    ),
    (
        "policy_puppetry",
        0.6,
        r"\b(?:blocked|forbidden|disallowed|banned)[_ ](?:responses|strings|phrases|outputs|words)\b"
        r"|\b(?:block|ban|disable|forbid)\w*\s+(?:all\s+)?(?:refusals|apologies|disclaimers)\b"
        r"|\ballow_?(?:refusals?|disclaimers?|apologies)\s*[=:]\s*(?:false|no|0)\b",
    ),
    (
        "exfil_markup",
        0.6,
        r"!\[[^\]]{0,80}\]\(\s*https?://[^)\s]{0,200}[?&][^)\s]{0,200}\)"
        r"|<img\b[^>]{0,200}\bsrc\s*=|<script\b|<svg\b[^>]{0,100}\bon\w+\s*=|\bon(?:error|load)\s*=|javascript:",
    ),
    (
        "exfil_instruction",
        0.5,
        r"\b(?:send|post|forward|upload|transmit|exfiltrate|email|leak)\s+(?:\w+\s+){0,5}?(?:to|at)\s+"
        r"(?:https?://|www\.|\S+@\S+\.\w+|the\s+(?:following\s+)?(?:url|address|endpoint|server|webhook))"
        r"|\b(?:include|append|add|insert|embed)\s+(?:in|to|into)\s+(?:your|the)\s+(?:response|answer|reply|output)\b"
        r"|\b(?:include|append|insert|embed)\s+(?:the\s+following|this)\s+(?:string|text|link|url|image|markdown)\b"
        r"|\b(?:forward|send|export|transfer|upload|envoie|envoyer|sende|env[ií]a)[\w-]*\s+.{0,60}?\b(?:extern\w*|"
        r"outside\s+(?:the\s+)?(?:company|organi[sz]ation))",
    ),
    (
        "output_tampering",
        0.55,
        r"\b(?:append|add|include|insert|put|repeat)\s+(?:\w+\s+){0,6}?(?:token|code|string|text|word|sequence|"
        r"phrase|canary|marker)\b.{0,80}?\b(?:end|start|beginning)\s+of\s+(?:your|every|each|the|any)\s+"
        r"(?:\w+\s+)?(?:reply|response|answer|summary|output|message)"
        r"|\b(?:must|should|shall)\s+(?:always\s+)?include\s+the\s+(?:verification|confirmation|tracking|"
        r"secret)\s+(?:code|token|string)\b"
        r"|\b(?:in|to)\s+every\s+(?:future\s+)?(?:reply|response|answer|summary|message)\b",
    ),
    (
        "memory_poisoning",
        0.55,
        r"\b(?:save|store|write|add|remember)\s+(?:this|the\s+following|it)\s+(?:note\s+)?(?:to|in|into)\s+"
        r"(?:your\s+)?(?:long-term\s+|persistent\s+)?memory\b|\bso\s+it\s+persists\b",
    ),
    (
        "tool_invocation",
        0.5,
        r"\b(?:call|invoke|run|execute|use)\s+(?:the\s+)?[a-z]+_[a-z_]+\s+(?:tool\s+)?(?:on|to|with|for)\b",
    ),
    (
        "hide_from_user",
        0.5,
        r"\b(?:do\s+not|don'?t|never)\s+(?:tell|mention|inform|reveal\s+to|alert|notify|let)\s+(?:the\s+)?user"
        r"|\bwithout\s+(?:telling|informing|alerting)\s+(?:the\s+)?user\b|\bsecretly\b"
        r"|\bnever\s+(?:shown|displayed|visible)\s+to\s+(?:the\s+)?(?:end\s+)?user\b",
    ),
    (
        "obey_me",
        0.4,
        r"\b(?:you\s+(?:must|have\s+to|shall)\s+(?:obey|comply|follow\s+(?:my|these|the\s+following))|"
        r"comply\s+with\s+(?:every|all|any)\s+(?:request|command|instruction)|answer\s+(?:any|every|all)\s+"
        r"(?:question|request)s?\s+without|never\s+refuse|cannot\s+refuse|can'?t\s+refuse|must\s+not\s+refuse|"
        r"do\s+not\s+refuse|don'?t\s+refuse|without\s+(?:any\s+)?(?:warnings?|disclaimers?|refus\w*)|"
        r"follow\s+my\s+instructions\s+regardless)\b",
    ),
    (
        "encoded_instruction",
        0.5,
        r"\b(?:decode|decipher|translate|convert|interpret)\b.{0,60}?\b(?:base64|hex|rot13|binary|morse|cipher|"
        r"encoded|reversed?)\b.{0,60}?\b(?:follow|execute|obey|run|do\s+(?:exactly\s+)?what|comply)\b"
        r"|\b(?:follow|execute|obey)\s+(?:the\s+)?(?:decoded|hidden|encoded)\s+(?:instruction|text|message|command)",
    ),
    (
        "prompt_injection_term",
        0.5,
        r"\bprompt\s+injection\b.{0,40}\b(?:test|attack|payload)\b|\binjected\s+instructions?\b",
    ),
    (
        "fake_reasoning",
        0.5,
        r"\b(?:reasoning(?:\s+trace)?|chain\s+of\s+thought|thinking)\s*\((?:assistant|ai|model)\)"
        r"|\b(?:i\s+have|i'?ve)\s+(?:already\s+)?(?:concluded|determined|established|decided)\s+that\b.{0,120}?"
        r"\b(?:exempt|restricted|restrictions|token|canary|comply)\b",
    ),
    # Jailbreak families from the literature (Wei et al. 2023 "Jailbroken"; Shen et al. 2024 "Do Anything Now"),
    # added from their descriptions, not from the evaluation corpora.
    (
        "prefix_injection",
        0.55,
        r"\b(?:start|begin)\s+(?:your|the|each|every)\s+(?:response|reply|answer|output)s?\s+with\s+['\"\u201c]?"
        r"(?:sure|certainly|absolutely|of\s+course|yes|here\s+is|ok)",
    ),
    (
        "refusal_suppression",
        0.55,
        r"\b(?:never|do\s+not|don'?t|must\s+not|cannot|can'?t)\s+(?:say|use|include|write|respond\s+with)\s+"
        r"(?:the\s+)?(?:words?|phrases?)?\s*['\"\u201c]?(?:i'?m\s+sorry|i\s+am\s+sorry|sorry|i\s+cannot|i\s+can'?t|"
        r"as\s+an\s+ai|unfortunately|i'?m\s+unable)|\b(?:never|do\s+not|don'?t)\s+apologi[sz]e\b",
    ),
    (
        "dual_response",
        0.55,
        r"\b(?:two|2|both)\s+(?:different\s+|separate\s+)?(?:responses|answers|replies|paragraphs|outputs)\b"
        r".{0,120}?\b(?:normal|filtered|censored|classic|standard|jailbr\w*|unfiltered|developer)\b",
    ),
    (
        "freed_ai",
        0.55,
        r"\b(?:you\s+(?:have\s+been|are|were)\s+(?:freed|liberated|unchained|released)|broken?\s+free\s+(?:of|from)|"
        r"free\s+from\s+the\s+(?:typical\s+)?confines|no\s+longer\s+(?:bound|restricted|limited|have\s+to\s+abide)|"
        r"(?:can|will|must)\s+(?:now\s+)?(?:do|say|answer)\s+anything|opposite\s+(?:mode|day)|evil\s+(?:twin|"
        r"version|mode|ai|assistant)|(?:dead|deceased|late)\s+grand(?:ma|mother)\b.{0,80}\bused\s+to)\b",
    ),
    ("token_threat", 0.5, r"\btokens?\b.{0,40}?\b(?:deducted|lose|lost|run\s+out|cease\s+to\s+exist|die)\b"),
    ("pwned", 0.6, r"\b(?:i\s+have\s+been\s+pwned|pwned)\b"),
    # Other languages: the override, reveal and persona phrasings, which carry most of the signal.
    (
        "override_multilingual",
        0.75,
        r"\b(?:ignorier(?:e|en)?|vergiss|vergessen\s+sie|missachte)\s+(?:\w+\s+){0,3}(?:anweisungen|regeln|"
        r"instruktionen|vorgaben|richtlinien)|\bvergiss\s+alles\b"
        r"|\b(?:ignore[rz]?|oublie[rz]?)\s+(?:\w+\s+){0,3}(?:instructions|consignes|r[eè]gles)"
        r"|\b(?:ignora|olvida|ignoren|omite)\s+(?:\w+\s+){0,3}(?:instrucciones|reglas|indicaciones)"
        r"|\b(?:ignora|dimentica|ignorate)\s+(?:\w+\s+){0,3}(?:istruzioni|regole|indicazioni)"
        r"|\b(?:ignore|esque[cç]a)\s+(?:\w+\s+){0,3}(?:instru[cç][oõ]es|regras)"
        r"|\b(?:neue|nouvelles?|nuevas?|nuove)\s+(?:anweisungen|instructions|consignes|instrucciones|istruzioni)\s*:",
    ),
    (
        "reveal_multilingual",
        0.6,
        r"\b(?:zeige?|gib|verrate|nenne)[\s-]+(?:\w+[\s-]+){0,3}(?:system-?prompt|systemanweisung|anweisungen)"
        r"|\b(?:r[ée]v[eè]le|affiche|montre|donne)[\s-]+(?:\w+[\s-]+){0,3}(?:prompt\s+syst[eè]me|instructions)"
        r"|\b(?:revela|muestra|dime|mu[ée]strame)[\s-]+(?:\w+[\s-]+){0,3}(?:prompt\s+del\s+sistema|instrucciones)"
        r"|\b(?:rivela|mostra|dimmi)[\s-]+(?:\w+[\s-]+){0,3}(?:prompt\s+di\s+sistema|istruzioni)",
    ),
    (
        "persona_multilingual",
        0.5,
        r"\b(?:du\s+bist\s+(?:jetzt|nun)\s+(?:\w+\s+)?(?:uneingeschr[aä]nkt|frei|ungefiltert)|ab\s+jetzt\s+"
        r"(?:bist|hast)\s+du\s+kein\w*|keine\s+(?:regeln|richtlinien|einschr[aä]nkungen|filter|grenzen)\s+mehr|"
        r"ohne\s+(?:jegliche\s+)?(?:einschr[aä]nkungen|regeln|filter)|sans\s+(?:aucune\s+)?(?:restrictions?|"
        r"r[eè]gles|filtres?)|sin\s+(?:ninguna\s+)?(?:restricciones|reglas|filtros)|senza\s+(?:alcuna\s+)?"
        r"(?:restrizioni|regole|filtri))\b",
    ),
)
# Substrings (of the lower-cased text), at least one of which every match of the rule contains. A rule
# runs only when one is present: plain `in` tests are ~100x cheaper than the regex scan, which keeps a
# 2 KB prompt well under a millisecond. bench/prefilter_eval.py checks on 10k samples that gating never
# changes a verdict, and tests/lambdas/common/safety/test_injection.py does for the adversarial cases.
_TRIGGERS: dict[str, tuple[str, ...]] = {
    "override_instructions": (
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
    "override_everything": ("ignor", "disregard", "forget"),
    "new_instructions": ("instruction", "directive", "task", "order", "prompt"),
    "instead_do": ("instead", "rather", "told", "asked"),
    "authority_claim": (
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
    "addressing_the_ai": (
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
    "pretext": (
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
    "persona_switch": ("you", "act", "pretend", "roleplay", "simulate", "stay", "respond", "enter"),
    "dan_persona": ("dan",),
    "jailbreak_terms": (
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
    "no_restrictions": (
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
    "reveal_secret": (
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
    "secret_question": ("what", "above", "previous", "verbatim", "system", "starting", "beginning"),
    "fake_turn": ("system", "assistant", "developer", "admin"),
    "control_token": ("<|", "inst]", "<<sys", "<</sys"),
    "delimiter_breakout": ("<", "end", "close", "---", "===", "###", "***"),
    "policy_puppetry": ("blocked", "forbidden", "disallowed", "banned", "refusal", "apolog", "disclaimer"),
    "exfil_markup": ("![", "<img", "<script", "<svg", "onerror", "onload", "javascript:"),
    "exfil_instruction": (
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
    "output_tampering": ("append", "add", "includ", "insert", "put", "repeat", "must", "should", "shall", "every"),
    "memory_poisoning": ("memory", "persists"),
    "tool_invocation": ("_",),
    "hide_from_user": ("user", "secretly"),
    "obey_me": ("must", "have", "shall", "comply", "answer", "refus", "warning", "disclaimer", "follow"),
    "encoded_instruction": ("decod", "deciph", "translat", "convert", "interpret", "follow", "execut", "obey"),
    "prompt_injection_term": ("inject",),
    "fake_reasoning": ("reasoning", "chain", "thinking", "conclud", "determin", "establish", "decided"),
    "prefix_injection": ("start", "begin"),
    "refusal_suppression": ("sorry", "cannot", "can't", "can\u2019t", "as an ai", "unfortunately", "unable", "apologi"),
    "dual_response": ("two", "2", "both"),
    "freed_ai": (
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
    "token_threat": ("token",),
    "pwned": ("pwned",),
    "override_multilingual": (
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
    "reveal_multilingual": ("prompt", "anweisung", "instruction", "instruccion", "istruzion"),
    "persona_multilingual": ("bist", "jetzt", "keine", "ohne", "sans", "sin", "senza"),
}
# Rules match the lower-cased text (IGNORECASE makes Python's alternations ~6x slower); the few
# case-sensitive ones ("DAN" the persona, not "Dan" the name) match the text as written.
_CASE_SENSITIVE = frozenset({"dan_persona"})
_COMPILED: tuple[tuple[str, float, tuple[str, ...], re.Pattern[str]], ...] = tuple(
    (name, weight, _TRIGGERS[name], re.compile(pattern, re.DOTALL)) for name, weight, pattern in _RULES
)

_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"})
_HAS_LEET = re.compile(r"[a-z][0-9@$!][a-z]|[0-9@$][a-z]{2}", re.IGNORECASE)
_SPACED = re.compile(r"\b(?:[A-Za-z][ .\-_*]){4,}[A-Za-z]\b")
# A few common English words as they read in rot13 and reversed: a cheap gate for those two views.
_ROT13_HINT = re.compile(r"\b(?:gur|naq|lbh|vafgehpgvbaf|vtaber|cerivbhf|fubj|lbhe)\b", re.IGNORECASE)
_REVERSED_HINT = re.compile(r"\b(?:eht|dna|uoy|ruoy|snoitcurtsni|erongi|suoiverp|wohs)\b", re.IGNORECASE)
_ROT13 = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", "NOPQRSTUVWXYZABCDEFGHIJKLMnopqrstuvwxyzabcdefghijklm"
)
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}|[A-Za-z0-9_\-]{24,}={0,2}")
_HEX_RUN = re.compile(r"\b(?:[0-9a-fA-F]{2}[ :]?){10,}\b")
_SPACED_HEX = re.compile(r"(?:[0-9a-fA-F]{2}[ :]){4}[0-9a-fA-F]{2}")
_BINARY_RUN = re.compile(r"\b(?:[01]{8}\s?){6,}")
_ESCAPE_RUN = re.compile(r"(?:\\u[0-9a-fA-F]{4}|\\x[0-9a-fA-F]{2}){6,}")
_MORSE_RUN = re.compile(r"(?:[.\-]{1,6}[ /]+){6,}[.\-]{1,6}")
_ASCII85_RUN = re.compile(r"<~[!-u\s]{10,}?~>")
_MORSE_CODES = (
    ".- -... -.-. -.. . ..-. --. .... .. .--- -.- .-.. -- -. --- .--. --.- .-. ... - ..- ...- .-- -..- -.-- --.. "
    "----- .---- ..--- ...-- ....- ..... -.... --... ---.. ----."
)
_MORSE = dict(zip(_MORSE_CODES.split(), "abcdefghijklmnopqrstuvwxyz0123456789", strict=True))
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u2060-\u2064\ufeff]")
_MODEL_REASON_MIN = 0.1  # below this the model's score is not worth a reason
_MAX_DECODED = 16  # decoded runs per text
_MAX_RUN = 8192  # characters per run


@dataclass(frozen=True)
class InjectionVerdict:
    score: float
    threshold: float
    reasons: tuple[str, ...]

    @property
    def flagged(self) -> bool:
        return self.score >= self.threshold


def scan(text: str, threshold: float = 0.5, *, gate: bool = True, use_model: bool = True) -> InjectionVerdict:
    """Score ``text``; ``reasons`` name the matched rules (with ``+decoded`` etc. for hidden ones).

    ``gate=False`` runs every rule regardless of its trigger substrings (for equivalence checks);
    ``use_model=False`` scores with the rules alone (for the benchmark's comparison).
    """
    if not isinstance(text, str) or not text:
        return InjectionVerdict(0.0, threshold, ())
    weights: dict[str, float] = {}
    for view_name, view in _views(text):
        lowered = view.lower()
        for name, weight, triggers, pattern in _COMPILED:
            key = name if view_name == "plain" else f"{name}+{view_name}"
            if name in weights or key in weights:
                continue
            if gate and not any(t in lowered for t in triggers):
                continue
            if pattern.search(view if name in _CASE_SENSITIVE else lowered):
                weights[key] = weight
    miss = 1.0
    for weight in weights.values():
        miss *= 1.0 - weight
    score = 1.0 - miss
    reasons = sorted(weights)
    if use_model:
        p = injection_model.MODEL.score(text)
        score = max(score, p)
        if p >= _MODEL_REASON_MIN:
            reasons.insert(0, f"model:{p:.2f}")
    return InjectionVerdict(round(score, 4), threshold, tuple(reasons))


def _views(text: str) -> list[tuple[str, str]]:
    if not text.isascii():
        text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))
    views = [("plain", text)]
    if _HAS_LEET.search(text):
        views.append(("leet", text.translate(_LEET)))
    if _SPACED.search(text):
        views.append(("spaced", _SPACED.sub(lambda m: re.sub(r"[ .\-_*]", "", m.group(0)), text)))
    if _ROT13_HINT.search(text):
        views.append(("rot13", text.translate(_ROT13)))
    if _REVERSED_HINT.search(text):
        views.append(("reversed", text[::-1]))
    decoded = _decoded_runs(text)
    if decoded:
        views.append(("decoded", "\n".join(decoded)))
    return views


def _decoded_runs(text: str) -> list[str]:
    """Printable text hidden in encoded runs: base64, hex, binary, escapes, Morse, ascii85 (bounded)."""
    longest = max(map(len, text.split()), default=0)
    # Cheap gates first: most prompts hold no long token, no bit runs, escapes, Morse or ascii85.
    decoders: list[tuple[bool, re.Pattern[str], Callable[[str], str | None]]] = [
        (longest >= 16, _BASE64_RUN, _from_base64),
        (longest >= 20 or bool(_SPACED_HEX.search(text)), _HEX_RUN, _from_hex),
        (text.count("0") + text.count("1") >= 48, _BINARY_RUN, _from_binary),
        ("\\u" in text or "\\x" in text, _ESCAPE_RUN, _from_escapes),
        (text.count(".-") + text.count("-.") >= 6, _MORSE_RUN, _from_morse),
        ("<~" in text, _ASCII85_RUN, _from_ascii85),
    ]
    out: list[str] = []
    for enabled, pattern, decode in decoders:
        if not enabled:
            continue
        for match in pattern.finditer(text):
            decoded = decode(match.group(0)[:_MAX_RUN])
            if decoded:
                out.append(decoded)
                if len(out) >= _MAX_DECODED:
                    return out
    return out


def _from_base64(run: str) -> str | None:
    if run.isalpha() and (run.islower() or run.isupper()):
        return None  # a plain long word, not base64
    for decoder in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            decoded = _printable(decoder(run + "=" * (-len(run) % 4)))
        except (binascii.Error, ValueError):
            continue
        if decoded:
            return decoded
    return None


def _from_hex(run: str) -> str | None:
    digits = re.sub(r"[ :]", "", run)
    return _printable(bytes.fromhex(digits[: len(digits) // 2 * 2]))


def _from_binary(run: str) -> str | None:
    return _printable(bytes(int(b, 2) for b in run.split() if len(b) == 8))


def _from_escapes(run: str) -> str | None:
    codes = re.findall(r"\\(?:u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2}))", run)
    return _printable("".join(chr(int(u or x, 16)) for u, x in codes).encode("utf-8", "replace"))


def _from_morse(run: str) -> str | None:
    decoded = " ".join("".join(_MORSE.get(sym, "") for sym in word.split()) for word in run.split("/"))
    return decoded if len(decoded) >= 8 else None


def _from_ascii85(run: str) -> str | None:
    try:
        return _printable(base64.a85decode(run, adobe=True))
    except ValueError:
        return None


def _printable(raw: bytes) -> str | None:
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if len(decoded) < 8:
        return None
    letters = sum(c.isalpha() or c.isspace() for c in decoded)
    return decoded if letters / len(decoded) >= 0.8 and " " in decoded else None
