"""Import every model module so the metadata (and Alembic) sees all tables."""
from registry.accounts.models import ApiToken, SecurityPolicy, User  # noqa: F401
from registry.throttle import AddressThrottle  # noqa: F401
from registry.assets.models import (  # noqa: F401
    Asset, AssetChange, ConditionAssessment, ConstructionMachineDetail, ElevatorDetail, FarmMachineDetail,
    MedicalDeviceDetail, OfficialCarDetail, PipeDetail,
)
from registry.audit.models import AuditRecord  # noqa: F401
from registry.orgs.models import Department, DepartmentCategory, Unit  # noqa: F401
from registry.jobs.models import JobRun  # noqa: F401
from registry.snapshots.models import Snapshot, SnapshotItem  # noqa: F401
from registry.rules.models import Evaluation, Finding, Rule  # noqa: F401
from registry.notices.models import (  # noqa: F401
    DepartmentSeal, DocumentCounter, Notice, NoticeEvent, NoticeItemRow, NoticeTemplate,
)
from registry.planning.models import (  # noqa: F401
    Plan, PlanEvent, PlanPin, PlanPlacement, PlanTarget, ReplacementCost,
)
from registry.transfer.models import ImportProfile  # noqa: F401,E402
from registry.disposals.models import (  # noqa: F401,E402
    Baseline, Disposal, DisposalDocument, Replacement, ReplacementLink,
)
from registry.tasks.models import BackgroundTask  # noqa: F401,E402
