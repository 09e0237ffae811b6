// part_breakdown: where the bytes of a sealed part go. Seals N traffic_gen events (gateway-
// shaped, bench/traffic_gen.h) into one part with the current PartBuilder and prints bytes per
// event for: the blocks, each column stream of the columns layout when compressed on its own
// (per block, zstd level of part_format.h), the index per tag, the summary and the rest.
// A measuring tool, not a benchmark: the byte counts are exact and need no quiet machine.
//   part_breakdown [events=200000] [dir=/tmp/part_breakdown] [block raw bytes=default] [version=5]
//                  [days=events*30/2M]
// `part_breakdown 1666667 /tmp/pb 0 4 1` seals one day at the 50 M-over-30-days density of
// query_bench's big load (a day is one part there). APITRAIL_BREAKDOWN_INFLIGHT=32 logs the
// events in the order 32 requests in flight would complete (see main).
#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <map>
#include <queue>
#include <random>
#include <string>

#include <zdict.h>
#include <zstd.h>

#include "core/ids.h"
#include "core/record_codec.h"
#include "store/fs/file_system.h"
#include "store/merkle/compact_range.h"
#include "store/merkle/merkle_hash.h"
#include "store/part/block_codec.h"
#include "store/part/part_builder.h"
#include "store/part/part_format.h"
#include "store/part/part_index.h"
#include "store/part/part_reader.h"
#include "traffic_gen.h"

using namespace apitrail;

namespace {

void Columns(std::string_view raw, uint32_t count, bool v2, std::map<std::string, std::string>* out) {
  const char* p = raw.data();
  const char* end = p + raw.size();
  uint64_t n = 0, len = 0;
  const char* at = p;
  if (v2) {
    for (uint32_t i = 0; i < count; ++i) part::GetVarint(&p, end, &len);
    (*out)["seqs"].append(at, p);
    at = p;
  }
  part::GetVarint(&p, end, &n);
  for (uint64_t i = 0; i < n; ++i) {
    part::GetVarint(&p, end, &len);
    if (len == 0 && v2) part::GetVarint(&p, end, &len);  // a code in the part's shape table
    else p += len;
  }
  (*out)["shapes"].append(at, p);
  at = p;
  for (uint32_t i = 0; i < count; ++i) part::GetVarint(&p, end, &len);
  (*out)["shape_ids"].append(at, p);
  at = p;
  part::GetVarint(&p, end, &len);
  p += len;
  (*out)["whole"].append(at, p);
  part::GetVarint(&p, end, &n);
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t number = 0;
    part::GetVarint(&p, end, &number);
    if (v2) ++p;  // transform
    part::GetVarint(&p, end, &len);
    (*out)["field " + std::to_string(number)].append(p, len);
    p += len;
  }
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t events = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 200000;
  const std::string dir = argc > 2 ? argv[2] : "/tmp/part_breakdown";
  const size_t block = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 0;
  const uint32_t version = argc > 4 ? static_cast<uint32_t>(std::strtoul(argv[4], nullptr, 10)) : part::kVersion5;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/" + part::PartFileName(0);
  bench::TrafficOptions to;
  to.events = events;
  to.days = argc > 5 ? std::max(1, std::atoi(argv[5]))
                     : static_cast<int>(std::max<uint64_t>(1, events * 30 / 2'000'000));
  bench::TrafficGen gen(to);
  auto b = part::PartBuilder::Create(DefaultFileSystem(), path, "node-1", 0, merkle::CompactRange(), block, version);
  if (!b.ok()) return std::fprintf(stderr, "%s\n", b.status().ToString().c_str()), 1;
  merkle::CompactRange after;
  AuditEvent e;
  uint64_t raw_bytes = 0;
  double seal_s = 0;  // in the builder's Add and Finish
  // Query parameters picked as query_bench picks them.
  std::string corr, res_name, res_value, event_id;
  // APITRAIL_BREAKDOWN_INFLIGHT=W: log the events in completion order, as the gateway does,
  // instead of the generator's start order: event i completes at i + U[0, W) (W requests in
  // flight), so times are taken in one order and logged in another. Event ids are minted
  // at completion, as the store does when the gateway appends an event;
  // APITRAIL_BREAKDOWN_MINT=start keeps the generator's ids, minted at the start (what the
  // gateway did before 2026-11-29).
  const char* inflight_env = std::getenv("APITRAIL_BREAKDOWN_INFLIGHT");
  const double inflight = inflight_env != nullptr ? std::atof(inflight_env) : 0;
  const char* mint_env = std::getenv("APITRAIL_BREAKDOWN_MINT");
  const bool mint_at_start = mint_env != nullptr && std::string_view(mint_env) == "start";
  const uint64_t id_origin = std::mt19937_64(23)() >> 22;
  uint32_t id_counter = 1u << 20;
  std::mt19937_64 rng(17);
  using Started = std::pair<double, AuditEvent>;
  auto later = [](const Started& a, const Started& b) { return a.first > b.first; };
  std::priority_queue<Started, std::vector<Started>, decltype(later)> in_flight(later);
  uint64_t generated = 0;
  auto next = [&](AuditEvent* out) {
    for (;;) {
      if (!in_flight.empty() && (in_flight.top().first < static_cast<double>(generated) || generated == events)) {
        *out = in_flight.top().second;
        in_flight.pop();
        if (!mint_at_start) out->id = FormatEventId(out->time_ns, id_origin, id_counter++);
        return true;
      }
      AuditEvent started;
      if (!gen.Next(&started)) {
        if (in_flight.empty()) return false;
        generated = events;
        continue;
      }
      const double done = static_cast<double>(generated++) + inflight * std::uniform_real_distribution<double>()(rng);
      in_flight.emplace(done, std::move(started));
    }
  };
  // APITRAIL_BREAKDOWN_SHARD_DRAIN=N (N > 1): the drain AppendQueue had before 2026-11-29
  // (388dbfd), for comparison: N gateway workers, each completion on a random one, and a
  // group commit every APITRAIL_BREAKDOWN_BATCH (default 24) completions that takes the
  // workers' queues one after the other, so ids minted in completion order reach the log
  // interleaved by worker. (Today's drain merges the queues by id counter: ids reach the log
  // in minting order, as without this variable.)
  const char* shards_env = std::getenv("APITRAIL_BREAKDOWN_SHARD_DRAIN");
  const char* batch_env = std::getenv("APITRAIL_BREAKDOWN_BATCH");
  const size_t shards = shards_env != nullptr ? std::max(1, std::atoi(shards_env)) : 1;
  const size_t batch = batch_env != nullptr ? std::max(1, std::atoi(batch_env)) : 24;
  std::vector<std::vector<AuditEvent>> shard_queues(shards);
  std::deque<AuditEvent> drained;
  auto next_logged = [&](AuditEvent* out) {
    if (shards == 1) return next(out);
    while (drained.empty()) {
      size_t n = 0;
      for (AuditEvent done; n < batch && next(&done); ++n) shard_queues[rng() % shards].push_back(std::move(done));
      if (n == 0) return false;
      for (auto& q : shard_queues) {
        for (auto& x : q) drained.push_back(std::move(x));
        q.clear();
      }
    }
    *out = std::move(drained.front());
    drained.pop_front();
    return true;
  };
  for (uint64_t seq = 0; next_logged(&e); ++seq) {
    e.seq = seq;
    if (res_name.empty() && seq >= events / 2) {
      for (const auto& [name, value] : e.resources) {
        const long v = std::strtol(value.c_str(), nullptr, 10);
        if (v >= 5 && v <= 50) res_name = name, res_value = value;
      }
    }
    if (seq == events * 7 / 10) corr = e.correlation_id;
    if (seq == events * 3 / 10) event_id = e.id;
    const std::string rec = EncodeRecord(e);
    raw_bytes += rec.size();
    after.Append(merkle::LeafHash(merkle::ThreadHasher(), rec));
    const auto t0 = std::chrono::steady_clock::now();
    if (Status st = (*b)->Add(rec, e); !st.ok()) return std::fprintf(stderr, "%s\n", st.ToString().c_str()), 1;
    seal_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  const auto t0 = std::chrono::steady_clock::now();
  if (Status st = (*b)->Finish(after); !st.ok()) return std::fprintf(stderr, "%s\n", st.ToString().c_str()), 1;
  seal_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto r = part::PartReader::Open(DefaultFileSystem(), path);
  if (!r.ok()) return std::fprintf(stderr, "%s\n", r.status().ToString().c_str()), 1;
  const part::PartReader& pr = **r;
  const double n = static_cast<double>(pr.count());
  const uint64_t file = std::filesystem::file_size(path);
  uint64_t blocks = 0, raw_blocks = 0;
  std::map<std::string, uint64_t> col_raw, col_z;
  std::map<int, uint64_t> level_bytes;
  std::vector<std::string> raws;
  std::map<int, double> level_us;
  for (uint32_t i = 0; i < pr.blocks().size(); ++i) {
    const auto& m = pr.blocks()[i];
    blocks += m.stored_size;
    raw_blocks += m.raw_size;
    auto raw = pr.ReadRawBlock(i);
    if (!raw.ok()) return std::fprintf(stderr, "%s\n", raw.status().ToString().c_str()), 1;
    raws.push_back(*raw);
    for (int level : {1, 3, 6, 9}) {
      const auto t0 = std::chrono::steady_clock::now();
      level_bytes[level] += part::ZstdCompress(*raw, level)->size();
      level_us[level] += std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    }
    std::map<std::string, std::string> cols;
    if (m.codec != part::kCodecZstdRows) Columns(*raw, m.count, m.codec == part::kCodecZstdSeqColumns, &cols);
    for (auto& [name, bytes] : cols) {
      col_raw[name] += bytes.size();
      if (!bytes.empty()) col_z[name] += part::ZstdCompress(bytes, part::kZstdLevel)->size();
    }
  }
  std::printf("sealing (PartBuilder Add + Finish, from memory): %.2f us/event (rough)\n", seal_s * 1e6 / n);
  const uint64_t summary = pr.index_offset() - pr.summary_offset();
  const uint64_t seqmap = pr.summary_offset() - pr.dictionary_size() - pr.seqmap_offset();
  const uint64_t index = file - part::kFooterSize - pr.index_offset();
  std::printf("events %" PRIu64 " (%d days), record bytes %.1f/event, blocks %zu, raw block %.0f B avg\n",
              pr.count(), to.days, raw_bytes / n, pr.blocks().size(), static_cast<double>(raw_blocks) / pr.blocks().size());
  std::printf("part file      %8.2f B/event\n", file / n);
  std::printf("  dictionary   %8.2f B/event (%u bytes)\n", pr.dictionary_size() / n, pr.dictionary_size());
  std::printf("  blocks       %8.2f B/event (raw columns %.1f)\n", blocks / n, raw_blocks / n);
  std::printf("  seq map      %8.2f B/event\n", seqmap / n);
  std::printf("  summary      %8.2f B/event\n", summary / n);
  std::printf("  index        %8.2f B/event (raw %.2f)\n", index / n, pr.index().raw().size() / n);
  for (auto& [level, bytes] : level_bytes) {
    std::printf("  blocks at zstd level %d: %.2f B/event, %.2f us/event to compress (rough)\n", level, bytes / n, level_us[level] / n);
  }
  // Dictionary sizes (the part has one of part::kDictionarySize); "level N" above are without.
  for (size_t dict_size : {16384, 65536, 131072}) {
    std::string samples;
    std::vector<size_t> sizes;
    // Trained on about 2 MiB of evenly spaced blocks (training time grows with the sample).
    const size_t step = std::max<size_t>(1, raws.size() * 50000 / (2u << 20));
    for (size_t k = 0; k < raws.size(); k += step) {
      samples += raws[k];
      sizes.push_back(raws[k].size());
    }
    std::string dict(dict_size, '\0');
    const auto t0 = std::chrono::steady_clock::now();
    const size_t got = ZDICT_trainFromBuffer(dict.data(), dict.size(), samples.data(), sizes.data(), static_cast<unsigned>(sizes.size()));
    const double train_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (ZDICT_isError(got)) {
      std::printf("  dict %zu: %s\n", dict_size, ZDICT_getErrorName(got));
      continue;
    }
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    uint64_t total = got;
    std::string out;
    for (const auto& r : raws) {
      out.resize(ZSTD_compressBound(r.size()));
      total += ZSTD_compress_usingDict(cctx, out.data(), out.size(), r.data(), r.size(), dict.data(), got, part::kZstdLevel);
    }
    ZSTD_freeCCtx(cctx);
    std::printf("  blocks with a %zu-byte part dictionary: %.2f B/event incl. the dictionary (training %.0f ms)\n", got, total / n, train_ms);
  }
  std::printf("column streams compressed one by one per block (sum %s the block):\n", "may exceed");
  for (auto& [name, z] : col_z) std::printf("  %-12s %8.2f B/event (raw %.2f)\n", name.c_str(), z / n, col_raw[name] / n);
  // Rough cost of one point lookup's block (read, CRC, decompress, decode): a fresh reader, each
  // block once. A shared machine makes this a rough number; the byte counts above are exact.
  {
    auto fresh = part::PartReader::Open(DefaultFileSystem(), path);
    const auto t0 = std::chrono::steady_clock::now();
    for (uint32_t i = 0; i < (*fresh)->blocks().size(); ++i) (void)(*fresh)->ReadBlock(i);
    const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    std::printf("read+decode one block: %.0f us avg (rough)\n", us / static_cast<double>((*fresh)->blocks().size()));
    // The same split: read + CRC + decompress, then decode alone.
    double raw_us = 0, decode_us = 0;
    std::string out;
    std::vector<uint32_t> starts, rels;
    for (uint32_t i = 0; i < (*fresh)->blocks().size(); ++i) {
      const auto t1 = std::chrono::steady_clock::now();
      auto raw = (*fresh)->ReadRawBlock(i);
      const auto t2 = std::chrono::steady_clock::now();
      const auto& m = (*fresh)->blocks()[i];
      if (m.codec == part::kCodecZstdSeqColumns) {
        (void)part::DecodeSeqColumns(*raw, m.count, (*fresh)->count(), &out, &starts, &rels,
                                     (*fresh)->values().empty() ? nullptr : &(*fresh)->values());
      }
      raw_us += std::chrono::duration<double, std::micro>(t2 - t1).count();
      decode_us += std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t2).count();
    }
    const double nb = static_cast<double>((*fresh)->blocks().size());
    std::printf("  of which read+crc+decompress %.0f us, decode %.0f us (rough)\n", raw_us / nb, decode_us / nb);
  }
  // A lookup by event id (GetById's part step) in a freshly opened part: the first one reads
  // the seq map when the id table is seq-keyed (version 4); later ones only search.
  {
    auto fresh = part::PartReader::Open(DefaultFileSystem(), path);
    if (!fresh.ok()) return std::fprintf(stderr, "%s\n", fresh.status().ToString().c_str()), 1;
    for (const char* which : {"first", "second"}) {
      const auto t0 = std::chrono::steady_clock::now();
      auto blocks = (*fresh)->BlocksWith(part::Field::kId, event_id);
      const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
      std::printf("event id lookup (%s, %s): %zu block(s), %.0f us (rough)\n", which,
                  (*fresh)->index().SeqKeyed(part::Field::kId) ? "seq-keyed" : "fingerprint",
                  blocks.ok() ? blocks->size() : 0, us);
    }
  }
  // Blocks a query must consider (exact counts, not timings): the candidates of the part
  // index, and the raw bytes decompressing them costs.
  {
    auto count = [&](const char* name, const EventQuery& q) {
      uint64_t raw = 0;
      const auto c = pr.CandidateBlocks(q);
      for (uint32_t b : c) raw += pr.blocks()[b].raw_size;
      std::printf("  %-28s %5zu candidate blocks, %8.1f KiB raw to decompress\n", name, c.size(), raw / 1024.0);
    };
    std::printf("query candidates (upper bound; a newest-100 query may stop earlier):\n");
    EventQuery day;
    day.subject = bench::TrafficGen::SubjectName(101);
    day.since_ns = to.start_ns + static_cast<int64_t>(to.days / 2) * 86'400'000'000'000;
    day.until_ns = *day.since_ns + 86'400'000'000'000;
    count("subject u-00101, one day", day);
    day.subject = bench::TrafficGen::SubjectName(0);
    count("subject u-00000, one day", day);
    EventQuery c;
    c.correlation_id = corr;
    count("one correlation id", c);
    EventQuery r;
    r.resource = std::make_pair(res_name, res_value);
    count(("resource " + res_name + "=" + res_value).c_str(), r);
  }
  // Index per tag: each tag's section compressed alone.
  const std::string& idx = pr.index().raw();
  const char* p = idx.data() + 4;
  const char* tags[] = {"", "subject", "route", "resource", "status", "decision", "method", "client_ip",
                        "correlation_id", "trace_id", "id", "intent_id", "status_class"};
  std::printf("index per tag (section compressed alone):\n");
  while (p < idx.data() + idx.size()) {
    const uint8_t tag = static_cast<uint8_t>(*p);
    const int h = pr.version() >= 2 ? 2 : 1;
    const std::string_view sec(p, h + 8 + *reinterpret_cast<const uint32_t*>(p + h + 4));
    const uint32_t entries = *reinterpret_cast<const uint32_t*>(p + h);
    std::printf("  %2u %-15s %8.2f B/event (raw %.2f, %u keys%s)\n", tag, tags[tag < 13 ? tag : 0],
                part::ZstdCompress(sec, part::kZstdLevel)->size() / n, sec.size() / n, entries,
                h == 2 ? (", " + std::to_string(static_cast<uint8_t>(p[1])) + " bits").c_str() : "");
    p += sec.size();
  }
  return 0;
}
