"""The statuses a staff review gives a field record, spelt once for the server and the devices."""

from typing import Final

APPROVED: Final = "approved"
QUESTIONED: Final = "questioned"
RETURNED: Final = "returned"
# A returned record the envoy has since changed: it waits for staff to look again.
CORRECTED: Final = "corrected"
STATUSES: Final = (APPROVED, QUESTIONED, RETURNED, CORRECTED)
# What staff may choose; CORRECTED is set by the envoy's edit arriving, never by hand.
STAFF_CHOICES: Final = (APPROVED, QUESTIONED, RETURNED)
# Records under question: left out when the bureau asks for figures without them.
UNDER_QUESTION: Final = (QUESTIONED, RETURNED, CORRECTED)

LABELS: Final = {
    APPROVED: ("通过", "approved"),
    QUESTIONED: ("有问题", "questioned"),
    RETURNED: ("退回", "returned"),
    CORRECTED: ("已更正待复核", "corrected, awaiting review"),
}
