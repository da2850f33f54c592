"""Style engines: machine learning only, importing nothing else from the project."""

from hallmark.engines.base import (
    Engine,
    EngineError,
    GenerationRequest,
    ImageTooSmall,
    MissingComponent,
    ModelArtifact,
    NotEnoughImages,
    OutOfMemory,
    Progress,
    ProgressCallback,
    StopCheck,
    TrainingConfig,
    TrainingImage,
    TrainingStopped,
    available_engines,
    get_engine,
)

__all__ = [
    "Engine",
    "EngineError",
    "GenerationRequest",
    "ImageTooSmall",
    "MissingComponent",
    "ModelArtifact",
    "NotEnoughImages",
    "OutOfMemory",
    "Progress",
    "ProgressCallback",
    "StopCheck",
    "TrainingConfig",
    "TrainingImage",
    "TrainingStopped",
    "available_engines",
    "get_engine",
]
