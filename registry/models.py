"""Import every model module so the metadata (and Alembic) sees all tables."""
from registry.accounts.models import User  # noqa: F401
from registry.assets.models import (  # noqa: F401
    Asset, AssetChange, ConstructionMachineDetail, ElevatorDetail, FarmMachineDetail,
    MedicalDeviceDetail, OfficialCarDetail, PipeDetail,
)
from registry.audit.models import AuditRecord  # noqa: F401
from registry.orgs.models import Department, DepartmentCategory, Unit  # noqa: F401
from registry.jobs.models import JobRun  # noqa: F401
from registry.snapshots.models import Snapshot, SnapshotItem  # noqa: F401
from registry.rules.models import Evaluation, Finding, Rule  # noqa: F401
