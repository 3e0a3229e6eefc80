"""Request and response bodies of ``POST /predict`` (pydantic: they are also the OpenAPI docs)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

__all__ = ["PredictRequest", "PredictResponse"]


class PredictRequest(BaseModel):
    """Texts to classify and how many labels to return for each."""

    model_config = ConfigDict(extra="forbid")
    texts: list[StrictStr] = Field(
        ..., description="Texts to classify (at least one).", examples=[["my card was charged"]]
    )
    top_k: StrictInt | None = Field(
        None, description="Labels returned per text, most probable first (default 3)."
    )


class LabelProb(BaseModel):
    label: str
    probability: float


class Prediction(BaseModel):
    label: str = Field(..., description="The predicted label (a hierarchy: the decoded path).")
    probability: float
    top_k: list[LabelProb]
    labels: list[LabelProb] | None = Field(
        None,
        description="Multi-label models: the label set (every label over its tuned threshold, "
        "most probable first), with probabilities; absent for single-label models.",
    )
    answer: str | None = Field(
        None, description='Hierarchy only: the deepest confident level, or "unknown".'
    )
    levels: dict[str, float] | None = Field(
        None, description="Hierarchy only: the probability of the predicted node at each level."
    )


class PredictResponse(BaseModel):
    predictions: list[Prediction] = Field(..., description="One per text, in request order.")
    model: str = Field(..., description="The backend that predicted.")
