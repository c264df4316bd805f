#include "event_kind.h"

#include <iterator>
#include <utility>

namespace vmip {
namespace {

constexpr std::pair<EventKind, const char*> kNames[] = {
    {EventKind::kBind, "bind"},
    {EventKind::kAttach, "attach"},
    {EventKind::kDetach, "detach"},
    {EventKind::kRelease, "release"},
    {EventKind::kClaim, "claim"},
    {EventKind::kUnclaim, "unclaim"},
    {EventKind::kAdopt, "adopt"},
    {EventKind::kHandoff, "handoff"},
    {EventKind::kDropCopy, "drop-copy"},
    {EventKind::kVmDeleted, "vm-deleted"},
    {EventKind::kStatefulSetDeleted, "statefulset-deleted"},
    {EventKind::kStatefulSetScaledDown, "statefulset-scaled-down"},
    {EventKind::kExpire, "expire"},
    {EventKind::kMove, "move"},
};

}  // namespace

const char* EventKindName(EventKind kind) {
  for (const auto& [k, name] : kNames)
    if (k == kind) return name;
  return "unknown";  // unreachable: every kind is listed above
}

std::optional<EventKind> ParseEventKind(const std::string& text) {
  for (const auto& [k, name] : kNames)
    if (text == name) return k;
  return std::nullopt;
}

}  // namespace vmip
