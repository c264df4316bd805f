// A metric family: one name, one help text, a fixed list of label names, and one
// child (Counter, Gauge or Histogram) per combination of label values. Finding a
// child takes the family's own small mutex (never the lease service's); callers on a
// hot path may keep the child they got, it lives as long as the family.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sample.h"

namespace vmip::metrics {

class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, std::string type,
             std::vector<std::string> label_names)
      : name_(std::move(name)),
        help_(std::move(help)),
        type_(std::move(type)),
        label_names_(std::move(label_names)) {}
  virtual ~FamilyBase() = default;
  const std::string& name() const { return name_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  FamilySnapshot Snapshot() const;

 protected:
  virtual void CollectChildren(std::vector<Sample>* out) const = 0;
  Labels Pair(const std::vector<std::string>& values) const;

 private:
  std::string name_, help_, type_;
  std::vector<std::string> label_names_;
};

template <typename T>
class Family final : public FamilyBase {
 public:
  using Make = std::function<std::unique_ptr<T>()>;
  Family(std::string name, std::string help, std::vector<std::string> label_names, Make make)
      : FamilyBase(std::move(name), std::move(help), T::kType, std::move(label_names)),
        make_(std::move(make)) {}

  // The child for these label values, made on first use. A wrong number of values
  // is a programming error: it gets a child whose values are padded or cut to fit.
  T& With(std::vector<std::string> values) {
    values.resize(label_names().size());
    std::lock_guard<std::mutex> lock(mu_);
    auto& child = children_[values];
    if (!child) child = make_();
    return *child;
  }

  // Drops every child: for gauges filled in at scrape time, so a series that no
  // longer exists does not linger.
  void Clear() {
    std::lock_guard<std::mutex> lock(mu_);
    children_.clear();
  }

 private:
  void CollectChildren(std::vector<Sample>* out) const override {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [values, child] : children_) child->Collect(name(), Pair(values), out);
  }

  Make make_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<T>> children_;
};

}  // namespace vmip::metrics
