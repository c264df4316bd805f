#include "registry.h"

namespace vmip::metrics {

Labels FamilyBase::Pair(const std::vector<std::string>& values) const {
  Labels out;
  for (size_t i = 0; i < label_names_.size() && i < values.size(); i++)
    out.emplace_back(label_names_[i], values[i]);
  return out;
}

FamilySnapshot FamilyBase::Snapshot() const {
  FamilySnapshot s{name_, help_, type_, {}};
  CollectChildren(&s.samples);
  return s;
}

template <typename T>
Family<T>& Registry::Add(std::unique_ptr<Family<T>> f) {
  Family<T>& ref = *f;
  families_.push_back(std::move(f));
  return ref;
}

Family<Counter>& Registry::AddCounter(const std::string& name, const std::string& help,
                                      std::vector<std::string> label_names) {
  return Add(std::make_unique<Family<Counter>>(name, help, std::move(label_names),
                                               [] { return std::make_unique<Counter>(); }));
}

Family<Gauge>& Registry::AddGauge(const std::string& name, const std::string& help,
                                  std::vector<std::string> label_names) {
  return Add(std::make_unique<Family<Gauge>>(name, help, std::move(label_names),
                                             [] { return std::make_unique<Gauge>(); }));
}

Family<Histogram>& Registry::AddHistogram(const std::string& name, const std::string& help,
                                          std::vector<std::string> label_names,
                                          std::vector<double> bounds) {
  return Add(std::make_unique<Family<Histogram>>(name, help, std::move(label_names), [bounds] {
    return std::make_unique<Histogram>(bounds);
  }));
}

void Registry::AddScrapeHook(std::function<void()> hook) {
  hooks_.push_back(std::move(hook));
}

std::vector<FamilySnapshot> Registry::Collect() const {
  std::vector<FamilySnapshot> out;
  std::lock_guard<std::mutex> lock(hooks_mu_);
  for (const auto& hook : hooks_) hook();
  for (const auto& f : families_) out.push_back(f->Snapshot());
  return out;
}

}  // namespace vmip::metrics
