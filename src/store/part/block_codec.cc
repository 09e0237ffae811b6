#include "store/part/block_codec.h"

#include <array>
#include <bitset>
#include <deque>
#include <map>
#include <optional>
#include <unordered_map>

#include "store/log/log_format.h"
#include "store/part/part_index.h"
#include "store/part/stream_transform.h"
#include "store/part/wire_fields.h"

namespace apitrail::part {

namespace {

// A reading cursor over one stream.
struct Cursor {
  const char* p;
  const char* end;
  bool Take(size_t n, std::string_view* out) {
    if (static_cast<size_t>(end - p) < n) return false;
    *out = std::string_view(p, n);
    p += n;
    return true;
  }
  bool TakeVarintRaw(std::string_view* out) {
    const size_t n = VarintLength(std::string_view(p, static_cast<size_t>(end - p)));
    return n != 0 && Take(n, out);
  }
  bool Varint(uint64_t* v) { return GetVarint(&p, end, v); }
};

// The next value of wire type `wire` from a stream: its raw bytes (for wire type 2 the
// length varint and the data).
bool TakeValue(Cursor* s, uint64_t wire, std::string_view* value) {
  switch (wire) {
    case 0:
      return s->TakeVarintRaw(value);
    case 1:
      return s->Take(8, value);
    case 5:
      return s->Take(4, value);
    case 2: {
      std::string_view len_raw, data;
      if (!s->TakeVarintRaw(&len_raw) ||
          !s->Take(static_cast<size_t>(std::min<uint64_t>(VarintValue(len_raw), SIZE_MAX)),
                   &data)) {
        return false;
      }
      *value = std::string_view(len_raw.data(), len_raw.size() + data.size());
      return true;
    }
    default:
      return false;
  }
}

// time_ns (docs/record.proto), whose milliseconds a kUuidTime stream's values share.
constexpr uint64_t kTimeField = 2;
// path, route and resources: a kRoutePath stream's paths are the route filled with the
// resources of the same record.
constexpr uint64_t kMethodField = 9;  // a kRouteMethod stream's: the route's first word
constexpr uint64_t kPathField = 10;
constexpr uint64_t kRouteField = 11;
constexpr uint64_t kResourcesField = 12;

// The decoder's cursors by field number: a flat array for the numbers records use, a map
// beyond. Assembly looks one up for every field of every record (a hash lookup each was
// 7% of reading a block).
class StreamTable {
 public:
  Cursor* Find(uint64_t number) {
    if (number < kFlat) return have_[number] ? &flat_[number] : nullptr;
    auto it = rest_.find(number);
    return it == rest_.end() ? nullptr : &it->second;
  }
  void Set(uint64_t number, Cursor c) {
    if (number < kFlat) {
      flat_[number] = c;
      have_[number] = true;
    } else {
      rest_[number] = c;
    }
  }
  // A stream with bytes left after assembly (a malformed block), if any.
  std::optional<uint64_t> WithBytesLeft() const {
    for (uint64_t n = 0; n < kFlat; ++n) {
      if (have_[n] && flat_[n].p != flat_[n].end) return n;
    }
    for (const auto& [n, c] : rest_) {
      if (c.p != c.end) return n;
    }
    return std::nullopt;
  }

 private:
  static constexpr uint64_t kFlat = 64;
  std::array<Cursor, kFlat> flat_{};
  std::bitset<kFlat> have_;
  std::unordered_map<uint64_t, Cursor> rest_;
};

// Bytes of the minimal varint of v.
size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// The data of a length-delimited value as stored (after its length varint).
std::string_view DelimitedData(std::string_view value) { return value.substr(VarintLength(value)); }

// Shapes are shared by many records, so a block may decode to more than its raw size; a
// damaged one must still not make the reader allocate without bound.
constexpr size_t kMaxDecodedBlock = 256u << 20;
// The distinct shapes a block's records use, in bytes: the records a writer puts in a block
// (~64 KiB, or 1 MiB in version 1, and one record over) bound them; each byte may become a
// parsed key of 24 bytes.
constexpr size_t kMaxParsedShapeBytes = 4u << 20;

Status Malformed(const std::string& what) { return Status::Corruption("malformed block: " + what); }

}  // namespace

std::string EncodeRows(const std::vector<std::string_view>& records) {
  std::string out;
  for (auto r : records) PutVarint(&out, r.size());
  for (auto r : records) out.append(r.data(), r.size());
  return out;
}

namespace {

// Takes a record's field 11 (route) values from `routes`, every one whatever its wire type
// (as assembly will); *route is the last of wire type 2. Returns how many of wire type 2
// there were, or -1 when the stream runs out.
int TakeRoutes(Cursor* routes, const std::vector<uint8_t>& wires, std::string_view* route) {
  int delimited = 0;
  for (uint8_t wire : wires) {
    std::string_view value;
    if (!TakeValue(routes, wire, &value)) return -1;
    if (wire == 2) {
      *route = DelimitedData(value);
      ++delimited;
    }
  }
  return delimited;
}

// The columns layout; with `transforms` (version 2) every stream carries a transform byte.
// `rels` (version 2): each record's seq within the part, for transform 7; `table` (or
// nullptr) the part's value table, for transform 8.
std::string EncodeColumnsImpl(const std::vector<std::string_view>& records, bool transforms,
                              const std::vector<uint32_t>* rels, const PartValues* table) {
  std::unordered_map<std::string, uint64_t> shape_ids;
  std::vector<std::string> shapes;
  std::string ids;
  std::string raw_stream;
  struct Stream {
    std::string bytes;
    bool all_uuid = true;
    bool all_uuid_v4 = true;    // … each of version 4
    bool all_uuid_time = true;  // … each the record's time_ns in ms, once per record
    size_t last_record = SIZE_MAX;
    std::vector<uint32_t> value_rels;  // with rels: each value's record's
    bool all_delimited = true;  // every value wire type 2
    std::string route_paths;    // kPathField: the kRoutePath form
    std::string route_resources;  // kResourcesField: the kRouteResources form
    std::string route_methods;    // kMethodField: the kRouteMethod form
    bool all_varint = true;     // every value a minimal varint
    std::vector<uint64_t> values;
  };
  std::map<uint64_t, Stream> streams;
  std::vector<WireField> fields;
  std::string derived;
  std::vector<std::string_view> resources, names;
  for (const std::string_view& rec : records) {
    if (!SplitFields(rec, &fields)) {
      PutVarint(&ids, 0);
      PutVarint(&raw_stream, rec.size());
      raw_stream.append(rec.data(), rec.size());
      continue;
    }
    // For transforms 4 and 5: the record's time in ms, when it has exactly one time_ns
    // (field 2, wire type 0) and it is ≥ 0; its route, when it has exactly one; its
    // resources. (Version 1 blocks have no transforms.)
    int64_t time_ms = -1;
    int times = 0, routes = 0;
    std::string_view route;
    resources.clear();  // reused: no allocation per record
    for (const WireField& f : fields) {
      if (!transforms) break;
      const uint64_t wire = VarintValue(f.key) & 7;
      if (f.number == kTimeField && wire == 0) {
        ++times;
        const auto t = static_cast<int64_t>(VarintValue(f.value));
        time_ms = t >= 0 ? t / 1'000'000 : -1;
      } else if (f.number == kRouteField && wire == 2) {
        route = DelimitedData(f.value);
        ++routes;
      } else if (f.number == kResourcesField && wire == 2) {
        resources.push_back(f.value);
      }
    }
    if (times != 1) time_ms = -1;
    const bool named = transforms && routes == 1 && RouteParamNames(route, &names);
    size_t resource = 0;  // of the record's wire type 2 resources
    const size_t record = &rec - records.data();
    std::string shape;
    for (const WireField& f : fields) {
      shape.append(f.key.data(), f.key.size());
      Stream& st = streams[f.number];
      st.bytes.append(f.value.data(), f.value.size());
      const uint64_t wire = VarintValue(f.key) & 7;
      st.all_delimited = st.all_delimited && wire == 2;
      st.all_uuid = st.all_uuid && wire == 2 && IsCanonicalUuid(f.value);
      st.all_uuid_v4 = st.all_uuid_v4 && st.all_uuid && IsUuidV4(f.value);
      st.all_uuid_time = st.all_uuid_time && st.all_uuid && time_ms >= 0 &&
                         st.last_record != record &&
                         UuidTimeMs(f.value) == static_cast<uint64_t>(time_ms);
      st.last_record = record;
      if (rels != nullptr && st.all_uuid_time) st.value_rels.push_back((*rels)[record]);
      if (transforms && f.number == kPathField && wire == 2) {
        // The decoder writes the path with a minimal length varint: only then is 0 exact.
        if (routes == 1 && FillRouteTemplate(route, resources, &derived) &&
            DelimitedData(f.value) == derived && VarintLength(f.value) == VarintSize(derived.size())) {
          st.route_paths.push_back('\0');
        } else {
          st.route_paths.push_back('\1');
          st.route_paths.append(f.value.data(), f.value.size());
        }
      }
      if (transforms && f.number == kMethodField && wire == 2) {
        // The decoder writes the method with a minimal length varint: only then is 0 exact.
        const std::string_view method = route.substr(0, route.find(' '));
        if (routes == 1 && route.find(' ') != std::string_view::npos && DelimitedData(f.value) == method &&
            VarintLength(f.value) == VarintSize(method.size())) {
          st.route_methods.push_back('\0');
        } else {
          st.route_methods.push_back('\1');
          st.route_methods.append(f.value.data(), f.value.size());
        }
      }
      if (transforms && f.number == kResourcesField && wire == 2) {
        // The route names it: only its value is kept, when the stored bytes are exactly
        // what the decoder will rebuild from the name and the value.
        std::string_view key, value;
        const size_t k = resource++;
        if (named && k < names.size() && ParseKeyValue(f.value, &key, &value) && key == names[k] &&
            ResourceKeyValue(key, value) == f.value) {
          st.route_resources.push_back('\0');
          PutVarint(&st.route_resources, value.size());
          st.route_resources.append(value);
        } else {
          st.route_resources.push_back('\1');
          st.route_resources.append(f.value.data(), f.value.size());
        }
      }
      if (st.all_varint && wire == 0) {
        const uint64_t v = VarintValue(f.value);
        std::string minimal;
        PutVarint(&minimal, v);
        st.all_varint = minimal == f.value;
        st.values.push_back(v);
      } else {
        st.all_varint = false;
      }
    }
    auto [it, fresh] = shape_ids.emplace(shape, shapes.size() + 1);
    if (fresh) shapes.push_back(std::move(shape));
    PutVarint(&ids, it->second);
  }
  std::string out;
  PutVarint(&out, shapes.size());
  std::string stored;
  for (const auto& s : shapes) {
    // A shape the part's table has (PartValues::kShapes) as its code there, after a 0 that
    // no shape of its own can have (every record has a field).
    uint64_t code = 0;
    if (table != nullptr) {
      stored.clear();
      PutVarint(&stored, s.size());
      stored += s;
      code = table->Code(PartValues::kShapes, stored);
    }
    if (code != 0) {
      PutVarint(&out, 0);
      PutVarint(&out, code);
    } else {
      PutVarint(&out, s.size());
      out += s;
    }
  }
  out += ids;
  PutVarint(&out, raw_stream.size());
  out += raw_stream;
  PutVarint(&out, streams.size());
  for (const auto& [number, st] : streams) {
    PutVarint(&out, number);
    if (!transforms) {
      PutVarint(&out, st.bytes.size());
      out += st.bytes;
      continue;
    }
    // Delta-coded in record order (2), or in seq order (12) when that is smaller: a time
    // follows the seq, while a block sorted by subject has most subjects once or twice.
    int split_k = 0;
    std::string delta = st.all_varint ? DeltaEncode(st.values) : std::string();
    StreamTransform delta_tr = StreamTransform::kDelta;
    if (st.all_varint && rels != nullptr && st.values.size() == rels->size()) {
      std::string by_seq = DeltaEncodeBySeq(st.values, *rels);
      if (by_seq.size() < delta.size()) {
        delta = std::move(by_seq);
        delta_tr = StreamTransform::kDeltaBySeq;
      }
    }
    std::string dict, part_dict;
    if (st.all_uuid && st.all_uuid_time && !st.bytes.empty()) {
      // A UUIDv7 minted for its record (the event id; a generated request id) repeats the
      // record's millisecond: only the other 10 bytes are kept — as deltas when that saves
      // a fifth, as it does for event ids, whose tails differ by a counter.
      // Less their records' seqs first (transform 7) when that is smaller still: in a block
      // sorted by subject, a counter tracks the seq, not the previous record's counter.
      const std::string tails = PackUuidTails(st.bytes);
      std::string deltas = DeltaEncodeUuidTails(tails);
      StreamTransform tr = StreamTransform::kUuidTimeDelta;
      if (rels != nullptr) {
        std::string less_seq = tails;
        if (OffsetUuidTails(&less_seq, st.value_rels, -1)) {
          std::string by_seq = DeltaEncodeUuidTails(less_seq);
          if (by_seq.size() < deltas.size()) {
            deltas = std::move(by_seq);
            tr = StreamTransform::kUuidTimeSeq;
          }
        }
      }
      const bool delta = deltas.size() * 5 < tails.size() * 4;
      out.push_back(static_cast<char>(delta ? tr : StreamTransform::kUuidTime));
      PutVarint(&out, delta ? deltas.size() : tails.size());
      out += delta ? deltas : tails;
    } else if (st.all_uuid && st.all_uuid_v4 && !st.bytes.empty()) {
      // A client's random request id: only its 122 random bits.
      out.push_back(static_cast<char>(StreamTransform::kUuidV4));
      const std::string bits = PackUuidV4s(st.bytes);
      PutVarint(&out, bits.size());
      out += bits;
    } else if (st.all_uuid && !st.bytes.empty()) {
      // Byte planes: every UUID's first 6 bytes (a version 7 UUID's millisecond time, alike
      // within a block), then every UUID's last 10.
      out.push_back(static_cast<char>(StreamTransform::kUuid));
      const std::string planes = PackUuids(st.bytes);
      PutVarint(&out, planes.size());
      out += planes;
    } else if (st.all_varint && !st.values.empty() && delta.size() * 5 < st.bytes.size() * 4) {
      // Only when it saves a fifth of the bytes: times, not sizes.
      out.push_back(static_cast<char>(delta_tr));
      PutVarint(&out, delta.size());
      out += delta;
    } else if (double split_est = 0, plain_est = 0;
               st.all_varint && !st.values.empty() &&
               (split_k = ChooseSplitBits(st.values, &split_est, &plain_est)) > 0 &&
               split_est < plain_est * 0.95) {
      // Durations and sizes: their low bits are noise, kept as bits, not as varint bytes.
      // One bit more than the estimate's best: in a block, zstd codes every stream's
      // literals with one Huffman table, so fewer distinct high parts code better than the
      // stream alone suggests (part_breakdown: 39.31 → 39.23 B/event; two more: the same).
      const std::string split = SplitEncode(st.values, std::min(split_k + 1, 63));
      out.push_back(static_cast<char>(StreamTransform::kSplit));
      PutVarint(&out, split.size());
      out += split;
    } else if (number == kMethodField && st.all_delimited &&
               st.route_methods.size() * 5 < st.bytes.size() * 4) {
      // A route names its method ("GET /v1/orders/{order_id}"): one byte says so.
      out.push_back(static_cast<char>(StreamTransform::kRouteMethod));
      PutVarint(&out, st.route_methods.size());
      out += st.route_methods;
    } else if (number == kResourcesField && st.all_delimited &&
               st.route_resources.size() * 5 < st.bytes.size() * 4) {
      // A resource's name is its route's parameter at its place: only the value is kept.
      out.push_back(static_cast<char>(StreamTransform::kRouteResources));
      PutVarint(&out, st.route_resources.size());
      out += st.route_resources;
    } else if (number == kPathField && st.all_delimited &&
               st.route_paths.size() * 5 < st.bytes.size() * 4) {
      // A path is mostly its route with the resource ids filled in: one byte says so.
      out.push_back(static_cast<char>(StreamTransform::kRoutePath));
      PutVarint(&out, st.route_paths.size());
      out += st.route_paths;
    } else {
      // A route, user agent or client IP repeats across a subject's run: each distinct
      // value once and a small index per record (3), where zstd would spend a match on
      // each; smaller still when the part's value table has them (8): only their codes.
      const bool dict_ok = st.all_delimited && !st.all_uuid && DictEncode(st.bytes, &dict);
      const bool use_table = dict_ok && table != nullptr && number != PartValues::kShapes &&
                             table->Field(number) != nullptr &&
                             PartDictEncode(st.bytes, *table, number, &part_dict) &&
                             part_dict.size() < dict.size();
      const std::string& coded = use_table ? part_dict : dict;
      if (dict_ok && coded.size() * 5 < st.bytes.size() * 4) {
        out.push_back(static_cast<char>(use_table ? StreamTransform::kPartDict : StreamTransform::kDict));
        PutVarint(&out, coded.size());
        out += coded;
        continue;
      }
      out.push_back(static_cast<char>(StreamTransform::kNone));
      PutVarint(&out, st.bytes.size());
      out += st.bytes;
    }
  }
  return out;
}

}  // namespace

std::string EncodeColumns(const std::vector<std::string_view>& records) {
  return EncodeColumnsImpl(records, false, nullptr, nullptr);
}

std::string EncodeSeqColumns(const std::vector<std::string_view>& records, const std::vector<uint32_t>& rels,
                             const PartValues* table) {
  std::string out;
  int64_t prev = 0;
  for (uint32_t rel : rels) {
    PutVarint(&out, ZigZag(static_cast<int64_t>(rel) - prev));
    prev = rel;
  }
  return out + EncodeColumnsImpl(records, true, &rels, table);
}

Status DecodeRows(std::string_view raw, uint32_t count, std::string* out, std::vector<uint32_t>* starts) {
  Cursor c{raw.data(), raw.data() + raw.size()};
  std::vector<uint64_t> lengths(count);
  uint64_t total = 0;
  for (auto& len : lengths) {
    if (!c.Varint(&len) || len == 0 || len > log::kMaxPayloadSize) return Malformed("bad record length");
    total += len;
  }
  if (total != static_cast<uint64_t>(c.end - c.p)) return Malformed("record lengths do not add up to the block");
  out->assign(c.p, static_cast<size_t>(total));
  starts->clear();
  uint32_t at = 0;
  for (uint64_t len : lengths) {
    starts->push_back(at);
    at += static_cast<uint32_t>(len);
  }
  starts->push_back(at);
  return Status::Ok();
}

namespace {

// `rels` (version 2): each record's seq within the part, which transform 7 adds back;
// `table` the part's value table (transform 8), nullptr when it has none.
Status DecodeColumnsImpl(std::string_view raw, uint32_t count, bool transforms,
                         const std::vector<uint32_t>* rels, const PartValues* table, std::string* out,
                         std::vector<uint32_t>* starts) {
  Cursor c{raw.data(), raw.data() + raw.size()};
  uint64_t nshapes = 0;
  // The writer lists only shapes its records use: at most one per record.
  if (!c.Varint(&nshapes) || nshapes > raw.size() || nshapes > count) return Malformed("bad shape count");
  std::vector<std::string_view> shapes(nshapes);
  const std::vector<std::string_view>* shape_table =
      transforms && table != nullptr ? table->Field(PartValues::kShapes) : nullptr;
  for (auto& s : shapes) {
    uint64_t len = 0;
    if (!c.Varint(&len)) return Malformed("bad shape");
    if (len == 0 && transforms) {
      // Version 2: the part's shape table has it.
      uint64_t code = 0;
      if (!c.Varint(&code) || shape_table == nullptr || code == 0 || code > shape_table->size()) {
        return Malformed("bad shape code");
      }
      s = DelimitedData((*shape_table)[code - 1]);
    } else if (!c.Take(static_cast<size_t>(std::min<uint64_t>(len, SIZE_MAX)), &s)) {
      return Malformed("bad shape");
    }
    // A record of k fields has at least 2k bytes: no record's shape is longer than a record.
    if (s.size() > log::kMaxPayloadSize) return Malformed("shape longer than a record");
  }
  std::vector<uint64_t> ids(count);
  for (auto& id : ids) {
    if (!c.Varint(&id) || id > nshapes) return Malformed("bad shape id");
  }
  uint64_t raw_len = 0;
  std::string_view raw_stream;
  if (!c.Varint(&raw_len) || !c.Take(static_cast<size_t>(std::min<uint64_t>(raw_len, SIZE_MAX)), &raw_stream)) {
    return Malformed("bad whole-record stream");
  }
  uint64_t nstreams = 0;
  if (!c.Varint(&nstreams) || nstreams > raw.size()) return Malformed("bad stream count");
  StreamTable streams;
  std::deque<std::string> plain;  // un-transformed streams (version 2); a deque never moves them
  struct Timed {
    uint64_t number;
    std::string_view tails;
    bool less_seq;  // transform 7: each tail's seq still to add
  };
  std::vector<Timed> timed;  // kUuidTime, kUuidTimeDelta and kUuidTimeSeq streams
  // The streams built from each record's route: field 9's (kRouteMethod), field 12's
  // (kRouteResources) and field 10's (kRoutePath).
  std::optional<std::string_view> methods, named, paths;
  size_t expanded = 0;
  uint64_t prev = 0;
  for (uint64_t i = 0; i < nstreams; ++i) {
    uint64_t number = 0, len = 0;
    std::string_view bytes, t;
    if (!c.Varint(&number) || (i > 0 && number <= prev) || (transforms && !c.Take(1, &t)) || !c.Varint(&len) ||
        !c.Take(static_cast<size_t>(std::min<uint64_t>(len, SIZE_MAX)), &bytes)) {
      return Malformed("bad field stream");
    }
    if (transforms) {
      const auto tr = static_cast<StreamTransform>(t[0]);
      if (tr == StreamTransform::kUuid || tr == StreamTransform::kDelta || tr == StreamTransform::kDict ||
          tr == StreamTransform::kUuidV4 || tr == StreamTransform::kDeltaBySeq || tr == StreamTransform::kSplit) {
        std::string& unpacked = plain.emplace_back();
        const size_t room = kMaxDecodedBlock - expanded;
        bool ok = false;
        switch (tr) {
          case StreamTransform::kUuid: ok = UnpackUuids(bytes, room, &unpacked); break;
          case StreamTransform::kDelta: ok = DeltaDecode(bytes, room, &unpacked); break;
          case StreamTransform::kUuidV4: ok = UnpackUuidV4s(bytes, room, &unpacked); break;
          case StreamTransform::kSplit: ok = SplitDecode(bytes, room, &unpacked); break;
          case StreamTransform::kDeltaBySeq:
            ok = rels != nullptr && DeltaDecodeBySeq(bytes, *rels, room, &unpacked);
            break;
          default: ok = DictDecode(bytes, room, &unpacked); break;
        }
        if (!ok) return Malformed("bad transformed stream of field " + std::to_string(number));
        expanded += unpacked.size();
        bytes = unpacked;
      } else if (tr == StreamTransform::kPartDict) {
        const std::vector<std::string_view>* values = table != nullptr ? table->Field(number) : nullptr;
        std::string& unpacked = plain.emplace_back();
        if (values == nullptr || !PartDictDecode(bytes, *values, kMaxDecodedBlock - expanded, &unpacked)) {
          return Malformed("bad part-table stream of field " + std::to_string(number));
        }
        expanded += unpacked.size();
        bytes = unpacked;
      } else if (tr == StreamTransform::kRouteMethod || tr == StreamTransform::kRouteResources ||
                 tr == StreamTransform::kRoutePath) {
        // Needs each record's route: resolved below.
        const bool method = tr == StreamTransform::kRouteMethod;
        const bool resources = tr == StreamTransform::kRouteResources;
        if (number != (method ? kMethodField : resources ? kResourcesField : kPathField)) {
          return Malformed("field " + std::to_string(number) + " cannot be " +
                           (method ? "a route method" : resources ? "route resources" : "a route path"));
        }
        (method ? methods : resources ? named : paths) = bytes;
        prev = number;
        continue;
      } else if (tr == StreamTransform::kUuidTime) {
        timed.push_back(Timed{number, bytes, false});  // needs each record's time: resolved below
        prev = number;
        continue;
      } else if (tr == StreamTransform::kUuidTimeDelta || tr == StreamTransform::kUuidTimeSeq) {
        // The tails first (7: less their seqs, added back in the walk); then as transform 4.
        std::string& tails = plain.emplace_back();
        if ((tr == StreamTransform::kUuidTimeSeq && rels == nullptr) ||
            !DeltaDecodeUuidTails(bytes, kMaxDecodedBlock - expanded, &tails)) {
          return Malformed("bad transformed stream of field " + std::to_string(number));
        }
        expanded += tails.size();  // held until the end: counted like every other stream
        timed.push_back(Timed{number, tails, tr == StreamTransform::kUuidTimeSeq});
        prev = number;
        continue;
      } else if (tr != StreamTransform::kNone) {
        return Malformed("unknown stream transform " + std::to_string(static_cast<unsigned>(tr)));
      }
    }
    prev = number;
    streams.Set(number, Cursor{bytes.data(), bytes.data() + bytes.size()});
  }
  if (c.p != c.end) return Malformed("trailing bytes");
  // Each used shape's keys, read once instead of once per record: their raw bytes, field
  // numbers and wire types for assembly, and what the walks below need of them. Parsed
  // when first used, once per distinct shape (slots naming one table code share it), within
  // kMaxParsedShapeBytes.
  struct Key {
    const char* raw;
    uint64_t k;  // number << 3 | wire
    uint8_t len;
  };
  struct ShapeKeys {
    std::vector<Key> keys;
    std::vector<uint8_t> time_wires, route_wires, resource_wires;  // fields 2, 11, 12 in order
    std::vector<uint8_t> path_wires;                                 // field 10
    std::vector<uint8_t> method_wires;                               // field 9
    std::vector<std::pair<uint32_t, uint32_t>> timed;  // (timed stream, its wire type 2 keys)
  };
  for (const Timed& t : timed) {
    // The writer never writes an empty stream; an empty one would only cost the walks.
    if (t.tails.empty()) return Malformed("empty transformed stream of field " + std::to_string(t.number));
  }
  std::unordered_map<uint64_t, uint32_t> timed_of;  // field number → index in timed
  for (size_t i = 0; i < timed.size(); ++i) timed_of.emplace(timed[i].number, static_cast<uint32_t>(i));
  std::vector<uint32_t> slot_keys(shapes.size(), UINT32_MAX);  // shape id - 1 → parsed
  std::unordered_map<const char*, uint32_t> parsed_at;         // a shape's bytes → parsed
  std::deque<ShapeKeys> parsed;
  size_t parsed_bytes = 0;
  auto keys_of = [&](uint64_t id, const ShapeKeys** out_keys) -> Status {
    uint32_t& slot = slot_keys[id - 1];
    if (slot == UINT32_MAX) {
      const std::string_view shape = shapes[id - 1];
      if (auto it = parsed_at.find(shape.data()); it != parsed_at.end()) {
        slot = it->second;
      } else {
        if ((parsed_bytes += shape.size()) > kMaxParsedShapeBytes) return Malformed("shapes too large");
        ShapeKeys& sk = parsed.emplace_back();
        Cursor keys{shape.data(), shape.data() + shape.size()};
        while (keys.p != keys.end) {
          std::string_view key;
          if (!keys.TakeVarintRaw(&key)) return Malformed("bad key in shape " + std::to_string(id));
          const uint64_t k = VarintValue(key);
          const auto wire = static_cast<uint8_t>(k & 7);
          sk.keys.push_back(Key{key.data(), k, static_cast<uint8_t>(key.size())});
          switch (k >> 3) {
            case kTimeField: sk.time_wires.push_back(wire); break;
            case kRouteField: sk.route_wires.push_back(wire); break;
            case kResourcesField: sk.resource_wires.push_back(wire); break;
            case kPathField: sk.path_wires.push_back(wire); break;
            case kMethodField: sk.method_wires.push_back(wire); break;
            default: break;
          }
          if (wire != 2) continue;
          if (auto t = timed_of.find(k >> 3); t != timed_of.end()) {
            auto same = std::find_if(sk.timed.begin(), sk.timed.end(),
                                     [&](const auto& e) { return e.first == t->second; });
            if (same == sk.timed.end()) {
              sk.timed.emplace_back(t->second, 1);
            } else {
              ++same->second;
            }
          }
        }
        slot = static_cast<uint32_t>(parsed.size() - 1);
        parsed_at.emplace(shape.data(), slot);
      }
    }
    *out_keys = &parsed[slot];
    return Status::Ok();
  };
  const ShapeKeys* sk = nullptr;
  if (!timed.empty() || methods || named || paths) {
    // Transforms 4 and 5 walk every record's shape before assembly does. Each key of a
    // shape yields at least one output byte, so a block whose shapes add up to more than
    // the output bound is malformed: this keeps the walks as bounded as assembly.
    uint64_t shape_bytes = 0;
    for (uint64_t id : ids) {
      if (id != 0 && (shape_bytes += shapes[id - 1].size()) > kMaxDecodedBlock) {
        return Malformed("block decodes to more than 256 MiB");
      }
    }
  }
  if (!timed.empty()) {
    // One walk for every kUuidTime stream: value k of a stream belongs to the k-th record
    // whose shape has the field (wire type 2), and that record has exactly one time_ns
    // (wire type 0); every field 2 key, whatever its wire type, takes the next value of
    // field 2's stream, as assembly will.
    const Cursor* time_stream = streams.Find(kTimeField);
    if (time_stream == nullptr) return Malformed("uuid-time streams without a time stream");
    for (size_t i = 0; i < timed.size(); ++i) {
      if (timed[i].number == kTimeField || timed[i].tails.size() % 10 != 0) {
        return Malformed("bad transformed stream of field " + std::to_string(timed[i].number));
      }
    }
    Cursor times = *time_stream;
    std::vector<std::vector<uint64_t>> ms(timed.size());
    std::vector<std::vector<uint32_t>> seqs(timed.size());  // transform 7's
    for (size_t r = 0; r < ids.size(); ++r) {
      const uint64_t id = ids[r];
      if (id == 0) continue;
      APITRAIL_RETURN_IF_ERROR(keys_of(id, &sk));
      int time_keys = 0;
      uint64_t time = 0;
      for (uint8_t wire : sk->time_wires) {
        std::string_view raw_time;
        if (!TakeValue(&times, wire, &raw_time)) return Malformed("time stream runs out");
        if (wire == 0) {
          time = VarintValue(raw_time);
          ++time_keys;
        }
      }
      for (const auto& [i, keys] : sk->timed) {
        const uint64_t number = timed[i].number;
        if (keys != 1 || time_keys != 1 || static_cast<int64_t>(time) < 0 ||
            ms[i].size() == timed[i].tails.size() / 10) {
          return Malformed("field " + std::to_string(number) + " has no single time to take");
        }
        ms[i].push_back(time / 1'000'000);
        if (timed[i].less_seq) seqs[i].push_back((*rels)[r]);
      }
    }
    std::string with_seqs;
    for (size_t i = 0; i < timed.size(); ++i) {
      std::string_view tails = timed[i].tails;
      if (timed[i].less_seq) {
        with_seqs.assign(tails.data(), tails.size());
        if (!OffsetUuidTails(&with_seqs, seqs[i], +1)) {
          return Malformed("bad transformed stream of field " + std::to_string(timed[i].number));
        }
        tails = with_seqs;
      }
      std::string& unpacked = plain.emplace_back();
      if (!UnpackUuidTails(tails, ms[i], kMaxDecodedBlock - expanded, &unpacked)) {
        return Malformed("bad transformed stream of field " + std::to_string(timed[i].number));
      }
      expanded += unpacked.size();
      streams.Set(timed[i].number, Cursor{unpacked.data(), unpacked.data() + unpacked.size()});
    }
  }
  // Transforms 10, 9 and 5, in that order (a path takes its record's resources): the values
  // of `field` from `tags` and each record's route (every value of field 11 taken, whatever
  // its wire type, as assembly will); `record` decodes one record's tags into `unpacked`.
  const auto derive = [&](uint64_t field, std::string_view tags, const std::string& what,
                          auto&& record) -> Status {
    const Cursor* route_stream = streams.Find(kRouteField);
    Cursor routes = route_stream != nullptr ? *route_stream : Cursor{nullptr, nullptr};
    Cursor in{tags.data(), tags.data() + tags.size()};
    std::string& unpacked = plain.emplace_back();
    for (uint64_t id : ids) {
      if (id == 0) continue;
      APITRAIL_RETURN_IF_ERROR(keys_of(id, &sk));
      std::string_view route;
      const int route_values = TakeRoutes(&routes, sk->route_wires, &route);
      if (route_values < 0) return Malformed("field 11 stream runs out");
      APITRAIL_RETURN_IF_ERROR(record(*sk, route_values == 1 ? std::optional(route) : std::nullopt, &in, &unpacked));
    }
    if (in.p != in.end) return Malformed(what + " stream has bytes left");
    expanded += unpacked.size();
    streams.Set(field, Cursor{unpacked.data(), unpacked.data() + unpacked.size()});
    return Status::Ok();
  };
  const auto too_large = [&](const std::string& unpacked) { return expanded + unpacked.size() > kMaxDecodedBlock; };
  if (methods) {
    APITRAIL_RETURN_IF_ERROR(derive(kMethodField, *methods, "route method",
        [&](const ShapeKeys& keys, std::optional<std::string_view> route, Cursor* in, std::string* unpacked) -> Status {
          for (uint8_t wire : keys.method_wires) {
            if (wire != 2) return Malformed("a route method of wire type " + std::to_string(wire));
            std::string_view tag, literal;
            if (!in->Take(1, &tag)) return Malformed("route method stream runs out");
            if (tag[0] == 1) {
              if (!TakeValue(in, 2, &literal)) return Malformed("route method stream runs out");
              unpacked->append(literal.data(), literal.size());
            } else if (tag[0] == 0 && route && route->find(' ') != std::string_view::npos) {
              const std::string_view method = route->substr(0, route->find(' '));
              PutVarint(unpacked, method.size());
              unpacked->append(method.data(), method.size());
            } else {
              return Malformed("a route method without its route");
            }
            if (too_large(*unpacked)) return Malformed("block decodes to more than 256 MiB");
          }
          return Status::Ok();
        }));
  }
  if (named) {
    std::vector<std::string_view> names;
    APITRAIL_RETURN_IF_ERROR(derive(kResourcesField, *named, "route resources",
        [&](const ShapeKeys& keys, std::optional<std::string_view> route, Cursor* in, std::string* unpacked) -> Status {
          for (uint8_t wire : keys.resource_wires) {
            if (wire != 2) return Malformed("route resources of wire type " + std::to_string(wire));
          }
          const bool have_names = route && RouteParamNames(*route, &names);
          for (size_t r = 0; r < keys.resource_wires.size(); ++r) {
            std::string_view tag, value;
            if (!in->Take(1, &tag) || !TakeValue(in, 2, &value)) return Malformed("route resources stream runs out");
            if (tag[0] == 1) {
              unpacked->append(value.data(), value.size());
            } else if (tag[0] == 0 && have_names && r < names.size()) {
              *unpacked += ResourceKeyValue(names[r], DelimitedData(value));
            } else {
              return Malformed("route resources without their route's names");
            }
            if (too_large(*unpacked)) return Malformed("block decodes to more than 256 MiB");
          }
          return Status::Ok();
        }));
  }
  if (paths) {
    // Every value of field 12 taken too, whatever its wire type, as assembly will.
    const Cursor* resource_stream = streams.Find(kResourcesField);
    Cursor resources = resource_stream != nullptr ? *resource_stream : Cursor{nullptr, nullptr};
    std::vector<std::string_view> record_resources;
    std::string path;
    APITRAIL_RETURN_IF_ERROR(derive(kPathField, *paths, "route path",
        [&](const ShapeKeys& keys, std::optional<std::string_view> route, Cursor* in, std::string* unpacked) -> Status {
          record_resources.clear();
          for (uint8_t wire : keys.resource_wires) {
            std::string_view value;
            if (!TakeValue(&resources, wire, &value)) return Malformed("field 12 stream runs out");
            if (wire == 2) record_resources.push_back(value);
          }
          for (uint8_t wire : keys.path_wires) {
            if (wire != 2) return Malformed("a route path of wire type " + std::to_string(wire));
          }
          for (size_t i = 0; i < keys.path_wires.size(); ++i) {
            std::string_view tag, literal;
            if (!in->Take(1, &tag)) return Malformed("route path stream runs out");
            if (tag[0] == 1) {
              if (!TakeValue(in, 2, &literal)) return Malformed("route path stream runs out");
              unpacked->append(literal.data(), literal.size());
            } else if (tag[0] == 0 && route && FillRouteTemplate(*route, record_resources, &path)) {
              PutVarint(unpacked, path.size());
              *unpacked += path;
            } else {
              return Malformed("a route path without its route and resources");
            }
            if (too_large(*unpacked)) return Malformed("block decodes to more than 256 MiB");
          }
          return Status::Ok();
        }));
  }
  Cursor whole{raw_stream.data(), raw_stream.data() + raw_stream.size()};
  out->clear();
  starts->clear();
  for (uint64_t id : ids) {
    starts->push_back(static_cast<uint32_t>(out->size()));
    const size_t begin = out->size();
    if (id == 0) {
      uint64_t len = 0;
      std::string_view rec;
      if (!whole.Varint(&len) || len == 0 || len > log::kMaxPayloadSize || !whole.Take(static_cast<size_t>(len), &rec)) {
        return Malformed("bad whole record");
      }
      out->append(rec.data(), rec.size());
      continue;
    }
    APITRAIL_RETURN_IF_ERROR(keys_of(id, &sk));
    for (const Key& key : sk->keys) {
      Cursor* stream = streams.Find(key.k >> 3);
      if (stream == nullptr) return Malformed("no stream for field " + std::to_string(key.k >> 3));
      std::string_view value;
      if (!TakeValue(stream, key.k & 7, &value))
        return Malformed("field " + std::to_string(key.k >> 3) + " stream runs out");
      out->append(key.raw, key.len);
      out->append(value.data(), value.size());
      if (out->size() - begin > log::kMaxPayloadSize) return Malformed("record too long");
      if (out->size() > kMaxDecodedBlock) return Malformed("block decodes to more than 256 MiB");
    }
    if (out->size() == begin) return Malformed("empty record");
  }
  starts->push_back(static_cast<uint32_t>(out->size()));
  if (const auto left = streams.WithBytesLeft()) {
    return Malformed("field " + std::to_string(*left) + " stream has bytes left");
  }
  if (whole.p != whole.end) return Malformed("whole-record stream has bytes left");
  return Status::Ok();
}

}  // namespace

Status DecodeColumns(std::string_view raw, uint32_t count, std::string* out, std::vector<uint32_t>* starts) {
  return DecodeColumnsImpl(raw, count, false, nullptr, nullptr, out, starts);
}

Status DecodeSeqColumns(std::string_view raw, uint32_t count, uint64_t part_count, std::string* out,
                        std::vector<uint32_t>* starts, std::vector<uint32_t>* rels, const PartValues* table) {
  const char* p = raw.data();
  const char* end = p + raw.size();
  rels->clear();
  rels->reserve(count);
  int64_t prev = 0;
  for (uint32_t i = 0; i < count; ++i) {
    uint64_t z = 0;
    if (!GetVarint(&p, end, &z)) return Malformed("bad seq");
    // prev < 2^32: a delta past ±2^40 is outside any part, and the sum cannot overflow.
    const int64_t delta = UnZigZag(z);
    if (delta > (int64_t{1} << 40) || delta < -(int64_t{1} << 40)) return Malformed("seq outside the part");
    const int64_t rel = prev + delta;
    if (rel < 0 || static_cast<uint64_t>(rel) >= part_count) return Malformed("seq outside the part");
    rels->push_back(static_cast<uint32_t>(rel));
    prev = rel;
  }
  return DecodeColumnsImpl(std::string_view(p, static_cast<size_t>(end - p)), count, true, rels, table, out, starts);
}

}  // namespace apitrail::part
