#include "owner_key.h"

namespace vmip {

const char* OwnerKindName(OwnerKind kind) {
  switch (kind) {
    case OwnerKind::kVm:
      return "vm";
    case OwnerKind::kReservation:
      return "reservation";
    case OwnerKind::kStatefulSetPod:
      return "sts";
    case OwnerKind::kPod:
      break;
  }
  return "pod";
}

std::optional<OwnerKind> ParseOwnerKind(const std::string& text) {
  if (text == "vm") return OwnerKind::kVm;
  if (text == "pod") return OwnerKind::kPod;
  if (text == "reservation") return OwnerKind::kReservation;
  if (text == "sts") return OwnerKind::kStatefulSetPod;
  return std::nullopt;
}

std::string OwnerKey::Tag() const {
  return std::string(OwnerKindName(kind)) + ":" + name;
}

std::string OwnerKey::Encode() const {
  return Tag() + "#" + ifname;
}

// The interface is after the last '#' (a name holds none; an ifname neither).
std::optional<OwnerKey> OwnerKey::Decode(const std::string& text) {
  size_t hash = text.rfind('#');
  std::string tag = text.substr(0, hash);
  size_t colon = tag.find(':');
  if (colon == std::string::npos) return std::nullopt;
  auto kind = ParseOwnerKind(tag.substr(0, colon));
  if (!kind) return std::nullopt;
  return OwnerKey{*kind, tag.substr(colon + 1),
                  hash == std::string::npos ? "" : text.substr(hash + 1)};
}

}  // namespace vmip
