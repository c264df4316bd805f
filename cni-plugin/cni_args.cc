#include "cni_args.h"

namespace vmip::cni {
namespace {

// Calls f(item) for every non-empty item of s separated by sep.
template <typename F>
void ForEachItem(std::string_view s, char sep, F f) {
  while (!s.empty()) {
    size_t end = s.find(sep);
    std::string_view item = s.substr(0, end);
    if (!item.empty()) f(item);
    if (end == std::string_view::npos) break;
    s.remove_prefix(end + 1);
  }
}

}  // namespace

CniArgs ParseCniArgs(std::string_view raw) {
  CniArgs args;
  ForEachItem(raw, ';', [&](std::string_view pair) {
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos) return;
    args[std::string(pair.substr(0, eq))] = std::string(pair.substr(eq + 1));
  });
  return args;
}

std::string ArgValue(const CniArgs& args, const std::string& key) {
  auto it = args.find(key);
  return it == args.end() ? std::string() : it->second;
}

std::vector<std::string> SplitCommaList(std::string_view s) {
  std::vector<std::string> items;
  ForEachItem(s, ',', [&](std::string_view item) { items.emplace_back(item); });
  return items;
}

}  // namespace vmip::cni
