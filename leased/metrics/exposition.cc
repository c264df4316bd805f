#include "exposition.h"

#include "value_text.h"

namespace vmip::metrics {
namespace {

std::string Escape(const std::string& text, bool quote) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '"' && quote)
      out += "\\\"";
    else
      out += c;
  }
  return out;
}

void RenderSample(const Sample& s, std::string* out) {
  *out += s.name;
  if (!s.labels.empty()) {
    *out += '{';
    for (size_t i = 0; i < s.labels.size(); i++) {
      if (i) *out += ',';
      *out += s.labels[i].first + "=\"" + EscapeLabelValue(s.labels[i].second) + '"';
    }
    *out += '}';
  }
  *out += ' ' + FormatValue(s.value) + '\n';
}

}  // namespace

std::string EscapeHelp(const std::string& text) {
  return Escape(text, /*quote=*/false);
}
std::string EscapeLabelValue(const std::string& text) {
  return Escape(text, /*quote=*/true);
}

std::string RenderText(const std::vector<FamilySnapshot>& families) {
  std::string out;
  for (const FamilySnapshot& f : families) {
    out += "# HELP " + f.name + ' ' + EscapeHelp(f.help) + '\n';
    out += "# TYPE " + f.name + ' ' + f.type + '\n';
    for (const Sample& s : f.samples) RenderSample(s, &out);
  }
  return out;
}

}  // namespace vmip::metrics
