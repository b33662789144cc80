"""Errors of the model registry: each names the file involved and what to do."""


class RegistryError(RuntimeError):
    """Base class for model-registry failures."""


class NoModelsError(RegistryError, FileNotFoundError):
    """No model set is installed under the models directory."""


class IntegrityError(RegistryError, ValueError):
    """A file is missing, tampered with or inconsistent with the metadata; nothing was loaded."""


class SignatureError(IntegrityError):
    """A set is unsigned or wrongly signed while MODEL_SIGNING_KEY is set; nothing was loaded."""


class MissingSigningKeyError(RegistryError, ValueError):
    """A command that signs sets was run without MODEL_SIGNING_KEY."""


class MetadataError(RegistryError, ValueError):
    """training_metadata.json is unreadable or breaks its schema."""


class ModelsDirError(RegistryError, OSError):
    """The models directory cannot be used: not a directory, or not writable for a writer."""


class LockTimeoutError(RegistryError, TimeoutError):
    """Another training, promotion or rollback holds the registry lock."""


class RetiredSetError(RegistryError, ValueError):
    """A rollback named a retired set without --force."""
