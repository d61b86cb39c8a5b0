/* strobe/shm/ring_abi.h — the one stable cross-language binary interface of strobe.
 *
 * Plain C (C99 and C++ compatible), little-endian, 64-bit positions. Everything a writer in
 * another language needs is here and in docs/shm-format.md; docs/design/ring.md explains the
 * threading and crash story.
 *
 * One segment = one producer process (per-producer rings; see docs/design/ring.md for the
 * numbers behind choosing these over one multi-producer ring). A segment is a file
 * `<dir>/strobe-<ring>-<pid>` (dir defaults to /dev/shm, mode 0600) holding:
 *
 *   [0, 256)              struct strobe_ring_header (header_bytes says how long it is)
 *   [header_bytes, +cap)  data area: framed records, capacity_bytes is a power of two
 *
 * Positions (write_pos, reserve_pos, read_pos) are free-running byte counters; the byte at
 * position p lives at data[p & (capacity_bytes - 1)]. Each control word is written by one side
 * only and sits on its own 64-byte line:
 *   - producer line: write_pos (store-RELEASE after the record bytes; the consumer loads it
 *     with ACQUIRE), reserve_pos (relaxed; read only after the producer died), dropped_*.
 *   - consumer line: read_pos (store-RELEASE after the consumer is done with the bytes; the
 *     producer loads it with ACQUIRE before reusing them), ack_seq (store-RELEASE after a
 *     PING record was processed; the producer polls it with ACQUIRE).
 *
 * A record is an 8-byte frame header followed by `length` payload bytes, padded to a multiple
 * of 8 (STROBE_RECORD_ALIGN). A record never wraps: when it does not fit before the end of the
 * data area, the producer first writes a PAD frame covering the rest of the area.
 * All payload integers are little-endian; doubles are IEEE-754 binary64.
 *
 * Definitions log (optional, defs_bytes > 0): [header_bytes + capacity_bytes, +defs_bytes)
 * holds a copy of every SERIES_DEFINE the producer wrote, appended and never overwritten;
 * defs_end is its committed length. Each entry is framed like a ring record (8-byte frame,
 * type SERIES_DEFINE, flags 0, padded to 8) whose payload is u64 ring_pos (the ring position
 * of the same definition's record) followed by the SERIES_DEFINE payload. A consumer that
 * attaches to a ring replays the entries with ring_pos < read_pos (definitions an earlier
 * consumer read) before draining, so a restarted daemon knows the series defined before it
 * started. When the log is full, later definitions go only through the ring. */
#ifndef STROBE_SHM_RING_ABI_H_
#define STROBE_SHM_RING_ABI_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define STROBE_RING_MAGIC 0x42525453u /* bytes 'S','T','R','B' in memory */
#define STROBE_RING_VERSION 1u
#define STROBE_RING_HEADER_BYTES 256u
#define STROBE_RING_MIN_CAPACITY 4096u
#define STROBE_RING_MAX_CAPACITY (1ull << 30)
#define STROBE_RECORD_ALIGN 8u
#define STROBE_FRAME_BYTES 8u
/* Largest payload of one record. */
#define STROBE_RECORD_MAX_PAYLOAD 65528u
/* SERIES_DEFINE metadata block (see STROBE_REC_SERIES_DEFINE). */
#define STROBE_DEFINE_META_VERSION 1u
#define STROBE_DEFINE_META_BYTES 16u
#define STROBE_DEFINE_MAX_BOUNDS 512u
#define STROBE_DEFINE_MAX_DESCRIPTION 4096u
#define STROBE_DEFINE_MAX_UNIT 64u

/* The daemon marker `<dir>/strobe-<ring>.daemon` is text: the daemon's pid in decimal, '\n',
 * then (daemons since the metadata block) "features <decimal mask>\n". A producer that finds a
 * live daemon's marker without a bit does not write what that bit names (an older daemon would
 * refuse it); with no marker it assumes every feature. */
#define STROBE_FEATURE_DEFINE_META 1u /* SERIES_DEFINE metadata block, counter fractions */
#define STROBE_FEATURES_ALL STROBE_FEATURE_DEFINE_META

/* Offsets of the header fields; the struct below has exactly this layout. */
#define STROBE_OFF_MAGIC 0u
#define STROBE_OFF_VERSION 4u
#define STROBE_OFF_HEADER_BYTES 6u
#define STROBE_OFF_CAPACITY 8u
#define STROBE_OFF_PRODUCER_PID 16u
#define STROBE_OFF_PRODUCER_SLOTS 20u
#define STROBE_OFF_CREATED_NS 24u
#define STROBE_OFF_DEFS_BYTES 32u
#define STROBE_OFF_WRITE_POS 64u
#define STROBE_OFF_RESERVE_POS 72u
#define STROBE_OFF_DROPPED_RECORDS 80u
#define STROBE_OFF_DROPPED_BYTES 88u
#define STROBE_OFF_CLOSED 96u
#define STROBE_OFF_DEFS_END 104u
#define STROBE_OFF_READ_POS 128u
#define STROBE_OFF_ACK_SEQ 136u
#define STROBE_OFF_CONSUMER_PID 144u
#define STROBE_OFF_REJECTED_RECORDS 152u

struct strobe_ring_header {
  /* Identity line; written once by the producer before `magic` (magic is stored last, with
   * release; a reader ignores a segment whose magic is not yet set). */
  uint32_t magic;
  uint16_t version;        /* bump on incompatible change */
  uint16_t header_bytes;   /* data area starts here; readers skip fields they do not know */
  uint64_t capacity_bytes; /* size of the data area, power of two */
  uint32_t producer_pid;   /* liveness: kill(pid, 0) == ESRCH means the producer is gone */
  uint32_t producer_slots; /* producers writing this ring: always 1 in version 1 */
  uint64_t created_ns;     /* CLOCK_REALTIME at creation (diagnostics) */
  uint64_t defs_bytes;     /* size of the definitions log after the data area (0 = none; a
                              multiple of 8). Added compatibly in version 1: older writers
                              leave it 0, older readers ignore it. */
  uint8_t reserved0[24];
  /* Producer line (offset 64). */
  uint64_t write_pos;       /* committed end: store-release after the record bytes */
  uint64_t reserve_pos;     /* claimed end: set before writing; > write_pos while mid-write */
  uint64_t dropped_records; /* records the producer dropped because the ring was full */
  uint64_t dropped_bytes;
  uint64_t closed;   /* 1 = producer closed the ring: store-release after its last
                        commit; the consumer drains and removes the segment */
  uint64_t defs_end; /* committed bytes of the definitions log: store-release after the
                        SERIES_DEFINE frame is written there (see below) */
  uint8_t reserved1[16];
  /* Consumer line (offset 128). */
  uint64_t read_pos;     /* consumed end: store-release after the bytes are done */
  uint64_t ack_seq;      /* last PING seq processed: store-release */
  uint32_t consumer_pid; /* pid of the daemon that last attached */
  uint8_t reserved2a[4];
  uint64_t rejected_records; /* records the consumer read and refused, any cause (refused
                                definitions, unknown series, bad payload, a run of malformed
                                frames counts 1): stored before ack_seq, so a producer that saw
                                an ack sees the refusals before it (a flush reports them) */
  uint8_t reserved2[32];
  uint8_t reserved3[64]; /* offset 192: keeps the data area on its own line */
};

/* Frame header, at a position that is a multiple of 8. */
struct strobe_frame {
  uint32_t length; /* payload bytes that follow (not counting padding) */
  uint16_t type;   /* enum strobe_record_type */
  uint16_t flags;  /* 0 in version 1; readers reject unknown bits */
};

/* Record types and their payloads (little-endian, packed, offsets in bytes). */
enum strobe_record_type {
  /* Filler up to the end of the data area; payload is ignored. */
  STROBE_REC_PAD = 0,
  /* Declares a series before its points. payload: u64 series_id, u32 kind
   * (enum strobe_series_kind), u32 text_bytes, then text: metric name, '\0', then zero or more
   * label pairs "key\0value\0". series_id is chosen by the producer, unique within its ring.
   *
   * Optional metadata block (added compatibly in version 1): when the payload is longer than
   * 16 + text_bytes, the rest is: u32 meta_version (STROBE_DEFINE_META_VERSION), u32
   * description_bytes, u32 unit_bytes, u32 bounds_count, description (UTF-8, no NUL), unit
   * (UCUM as in OTLP, e.g. "s", "By"; no NUL), then bounds_count f64 explicit bucket bounds
   * (HISTOGRAM series only: finite, strictly increasing, at most STROBE_DEFINE_MAX_BOUNDS; the
   * series is then an explicit-bounds histogram whose bucket i counts values in
   * (bounds[i-1], bounds[i]], plus (bounds[last], +inf)). A meta_version 1 block fills the
   * payload exactly; a later version may append fields, which version-1 readers ignore.
   * Readers from before the block reject such a definition (counted, its points refused), so
   * producers write the block only when they have metadata to carry. */
  STROBE_REC_SERIES_DEFINE = 1,
  /* u64 series_id, u64 timestamp_ns (0 = stamped by the daemon on receipt), u64 delta. */
  STROBE_REC_COUNTER_ADD = 2,
  /* u64 series_id, u64 timestamp_ns (0 = on receipt), f64 value. */
  STROBE_REC_GAUGE_SET = 3,
  /* u64 series_id, u64 timestamp_ns (0 = on receipt), f64 value. */
  STROBE_REC_HISTOGRAM_RECORD = 4,
  /* u8 trace_id[16], u64 span_id, u64 parent_span_id (0 = root), u64 start_ns, u64 end_ns,
   * u32 name_bytes, u32 attr_bytes, name, attributes as "key\0value\0" pairs. */
  STROBE_REC_SPAN = 5,
  /* u64 timestamp_ns, u32 name_bytes, u32 attr_bytes, name, attributes "key\0value\0". */
  STROBE_REC_EVENT = 6,
  /* u32 count, u32 kind (strobe_series_kind), then `count` entries of
   * {u64 series_id, u64 timestamp_ns, f64 value}. For COUNTER the value is the increment:
   * finite, >= 0, below 2^64; a fraction is added exactly in units of 1e-9 (rounded to the
   * nearest unit once). Daemons from before fractions refuse a non-whole entry (counted). This
   * is also how a producer sends one non-integer increment (COUNTER_ADD carries a u64). */
  STROBE_REC_BATCH = 7,
  /* u64 seq: the consumer stores ack_seq = seq (release) once every record before it and the
   * PING itself were processed, i.e. accepted downstream: a consumer that cannot hand the
   * records on yet leaves the PING unconsumed and unanswered. Used for round trips and
   * flushes (wait with a timeout). */
  STROBE_REC_PING = 8,
  /* Adds a histogram delta to a HISTOGRAM series (a metrics library pushing its snapshots).
   * payload: u64 series_id, u64 timestamp_ns, u64 count (observations, zeros included),
   * u64 zero_count, f64 sum, f64 min, f64 max, i32 scale (6 in version 1), i32 offset,
   * u32 n, u32 reserved (0), then n u64 bucket counts: bucket offset + i holds the values in
   * (2^((offset + i) / 64), 2^((offset + i + 1) / 64)]. count == zero_count + sum of buckets. */
  STROBE_REC_HISTOGRAM_MERGE = 9,
  STROBE_REC_TYPE_COUNT = 10
};

enum strobe_series_kind {
  STROBE_KIND_COUNTER = 1,
  STROBE_KIND_GAUGE = 2,
  STROBE_KIND_HISTOGRAM = 3
};

#ifdef __cplusplus
} /* extern "C" */
static_assert(sizeof(struct strobe_ring_header) == STROBE_RING_HEADER_BYTES, "header layout");
static_assert(__builtin_offsetof(strobe_ring_header, write_pos) == STROBE_OFF_WRITE_POS, "");
static_assert(__builtin_offsetof(strobe_ring_header, reserve_pos) == STROBE_OFF_RESERVE_POS, "");
static_assert(__builtin_offsetof(strobe_ring_header, read_pos) == STROBE_OFF_READ_POS, "");
static_assert(__builtin_offsetof(strobe_ring_header, ack_seq) == STROBE_OFF_ACK_SEQ, "");
static_assert(__builtin_offsetof(strobe_ring_header, consumer_pid) == STROBE_OFF_CONSUMER_PID, "");
static_assert(__builtin_offsetof(strobe_ring_header, defs_bytes) == STROBE_OFF_DEFS_BYTES, "");
static_assert(__builtin_offsetof(strobe_ring_header, defs_end) == STROBE_OFF_DEFS_END, "");
static_assert(__builtin_offsetof(strobe_ring_header, rejected_records) ==
                  STROBE_OFF_REJECTED_RECORDS,
              "");
static_assert(sizeof(struct strobe_frame) == STROBE_FRAME_BYTES, "frame layout");
#endif

#endif /* STROBE_SHM_RING_ABI_H_ */
