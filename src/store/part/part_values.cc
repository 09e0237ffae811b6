#include "store/part/part_values.h"

#include <algorithm>

#include "store/part/part_index.h"
#include "store/part/stream_transform.h"

namespace apitrail::part {

namespace {

constexpr uint64_t kPathField = 10;  // transform 5 stores a path as one byte

Status Bad(const std::string& what) { return Status::Corruption("part value table: " + what); }

}  // namespace

void PartValues::Counter::Add(std::string_view record) {
  if (offered_++ % sample_every_ != 0 || !SplitFields(record, &scratch_)) return;
  // The shape as a block's shape list stores it: length varint, then the keys.
  size_t keys = 0;
  for (const WireField& f : scratch_) keys += f.key.size();
  shape_stored_.clear();
  PutVarint(&shape_stored_, keys);
  for (const WireField& f : scratch_) shape_stored_.append(f.key.data(), f.key.size());
  Count(kShapes, shape_stored_);
  for (const WireField& f : scratch_) {
    if ((VarintValue(f.key) & 7) != 2 || f.number == kPathField || IsCanonicalUuid(f.value)) continue;
    Count(f.number, f.value);
  }
}

void PartValues::Counter::Count(uint64_t number, std::string_view value) {
  Field& field = fields_[number];
  if (field.dropped) return;
  if (auto it = field.counts.find(value); it != field.counts.end()) {
    ++it->second;
    return;
  }
  if (bytes_ + value.size() > kMaxRawBytes) return;
  if (field.counts.size() == kMaxValuesPerField) {
    // Mostly distinct values (ids): no table would pay. Dropping the counts keeps the
    // memory bound for the fields that stay.
    for (const auto& [v, n] : field.counts) bytes_ -= v.size();
    field.counts = {};
    field.dropped = true;
    return;
  }
  field.counts.emplace(std::string(value), 1);
  bytes_ += value.size();
}

PartValues PartValues::Counter::Finish() && {
  PartValues table;
  for (auto& [number, field] : fields_) {
    std::vector<std::pair<uint64_t, std::string_view>> seen;
    for (const auto& [value, n] : field.counts) {
      if (n >= 2) seen.emplace_back(n, value);
    }
    if (seen.empty()) continue;
    std::sort(seen.begin(), seen.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    std::vector<std::string>& values = table.fields_[number];
    values.reserve(seen.size());
    for (const auto& [n, value] : seen) values.emplace_back(value);
  }
  table.BuildCodes();
  return table;
}

Result<PartValues> PartValues::Decode(std::string_view raw) {
  if (raw.size() > kMaxRawBytes + (1u << 20)) return Bad("too large");
  const char* p = raw.data();
  const char* end = p + raw.size();
  uint64_t nfields = 0;
  // Each field takes at least 3 bytes: the count is bounded by the input.
  if (!GetVarint(&p, end, &nfields) || nfields > raw.size()) return Bad("bad field count");
  PartValues table;
  uint64_t prev = 0;
  for (uint64_t f = 0; f < nfields; ++f) {
    uint64_t number = 0, n = 0;
    if (!GetVarint(&p, end, &number) || (f > 0 && number <= prev) || !GetVarint(&p, end, &n) || n == 0 ||
        n > kMaxValuesPerField || n > static_cast<uint64_t>(end - p)) {
      return Bad("bad field header");
    }
    prev = number;
    std::vector<std::string>& values = table.fields_[number];
    values.reserve(static_cast<size_t>(n));
    for (uint64_t i = 0; i < n; ++i) {
      const char* start = p;
      uint64_t len = 0;
      if (!GetVarint(&p, end, &len) || len > static_cast<uint64_t>(end - p)) return Bad("bad value");
      p += len;
      values.emplace_back(start, p);
    }
  }
  if (p != end) return Bad("trailing bytes");
  return table;
}

std::string PartValues::Encode() const {
  std::string out;
  PutVarint(&out, fields_.size());
  for (const auto& [number, values] : fields_) {
    PutVarint(&out, number);
    PutVarint(&out, values.size());
    for (const std::string& v : values) out += v;
  }
  return out;
}

const std::vector<std::string>* PartValues::Field(uint64_t number) const {
  auto it = fields_.find(number);
  return it == fields_.end() ? nullptr : &it->second;
}

uint64_t PartValues::Code(uint64_t number, std::string_view value) const {
  auto f = codes_.find(number);
  if (f == codes_.end()) return 0;
  auto it = f->second.find(value);
  return it == f->second.end() ? 0 : it->second;
}

void PartValues::BuildCodes() {
  for (const auto& [number, values] : fields_) {
    auto& codes = codes_[number];
    for (size_t i = 0; i < values.size(); ++i) codes.emplace(values[i], i + 1);
  }
}

}  // namespace apitrail::part
