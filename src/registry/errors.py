"""Errors of the model registry: each names the file involved and what to do."""


class RegistryError(RuntimeError):
    """Base class for model-registry failures."""


class NoModelsError(RegistryError, FileNotFoundError):
    """No model set is installed under the models directory."""


class IntegrityError(RegistryError, ValueError):
    """A file is missing, tampered with or inconsistent with the metadata; nothing was loaded."""


class MetadataError(RegistryError, ValueError):
    """training_metadata.json is unreadable or breaks its JSON Schema."""


class LockTimeoutError(RegistryError, TimeoutError):
    """Another training, promotion or rollback holds the registry lock."""
