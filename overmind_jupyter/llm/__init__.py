"""Chat models behind one small contract (``contract.py``).

``resolve_model("openai:gpt-4.1")`` builds an adapter; the OpenAI and Gemini SDKs are
imported only when such a model is resolved, so importing this package is light.
``ScriptedModel`` replays a script offline; ``cost_usd`` prices a turn's ``Usage``.
"""

from .contract import (
    ChatModel,
    Message,
    ProviderError,
    Retrying,
    StreamItem,
    TextDelta,
    ToolCall,
    ToolCallReady,
    ToolSpec,
    TurnEnd,
    Usage,
)
from .fallback import FallbackModel
from .pricing import cost_usd
from .registry import MissingAPIKey, resolve_model
from .retry import RetryPolicy
from .scripted import ScriptedModel, ScriptError

__all__ = [
    "ChatModel",
    "FallbackModel",
    "Message",
    "MissingAPIKey",
    "ProviderError",
    "RetryPolicy",
    "Retrying",
    "ScriptError",
    "ScriptedModel",
    "StreamItem",
    "TextDelta",
    "ToolCall",
    "ToolCallReady",
    "ToolSpec",
    "TurnEnd",
    "Usage",
    "cost_usd",
    "resolve_model",
]
