"""Peak memory and time of reading the worst inputs the loaders can be handed, against their
size: `latentr3 data stats <file>` under /usr/bin/time, one file at a time.

    python3 benches/loader_memory.py <latentr3 binary> [scale]

scale (default 1.0) shrinks or grows every generated file. Prints one JSON line per case: the
input's size on disk (and decompressed), the peak RSS, the wall time, and how it ended (loaded,
or the first line of the named error)."""
import gzip
import json
import os
import subprocess
import sys
import tempfile
import zlib


def write_lines(path, lines):
    with open(path, "w") as f:
        for line in lines:
            f.write(line)


def write_long_line(path, head, character, megabytes, tail):
    """`head`, then `megabytes` MiB of `character` on one line, then `tail`."""
    with open(path, "w") as f:
        f.write(head)
        block = character * (1 << 20)
        for _ in range(megabytes):
            f.write(block)
        f.write(tail)


def measure(binary, path, decompressed=None):
    result = subprocess.run(["/usr/bin/time", "-f", "%M %e", binary, "data", "stats", path],
                            capture_output=True, text=True)
    *rest, timing = result.stderr.strip().splitlines()
    peak_kib, seconds = timing.split()
    message = next((l for l in rest if l.startswith("error")), "loaded")
    size = os.path.getsize(path)
    return {
        "input": os.path.basename(path),
        "bytes": size,
        "decompressed_bytes": decompressed or size,
        "peak_rss_mb": round(int(peak_kib) / 1024, 1),
        "seconds": float(seconds),
        "exit": result.returncode,
        "outcome": message[:160],
    }


def main(binary, scale=1.0):
    work = tempfile.mkdtemp(prefix="latentr3-loader-")
    cases = []

    # 10^7 distinct item ids (and 10^6 users with 10 interactions each): ~190 MB.
    n = int(10_000_000 * scale)
    path = os.path.join(work, "u.data")
    write_lines(path, (f"{i % (n // 10)}\t{i}\t3\t{881250949 + i}\n" for i in range(n)))
    cases.append((path, None))

    # Ids beyond 2^32 and 2^63 as tokens (RecBole's atomic files keep ids as text).
    path = os.path.join(work, "huge-ids.inter")
    lines = ["user_id:token\titem_id:token\trating:float\ttimestamp:float\n"]
    m = int(1_000_000 * scale)
    lines += (f"{2**32 + i % 1000}\t{2**63 + i}\t3\t{i}\n" for i in range(m))
    write_lines(path, lines)
    cases.append((path, None))

    # One enormous line: 512 MB of digits without a line end.
    path = os.path.join(work, "ratings.csv")
    write_long_line(path, "userId,movieId,rating,timestamp\n", "7", int(512 * scale), "")
    cases.append((path, None))

    # One JSON line holding a 256 MB string.
    path = os.path.join(work, "Toys_5.json")
    write_long_line(path, '{"overall": 3.0, "reviewerID": "', "x", int(256 * scale),
                    '", "asin": "B", "unixReviewTime": 881250949}\n')
    cases.append((path, None))

    # JSON nested 10^7 deep.
    path = os.path.join(work, "Books.jsonl")
    depth = int(10_000_000 * scale)
    with open(path, "w") as f:
        f.write("[" * depth + "]" * depth + "\n")
    cases.append((path, None))

    # Gzip bombs: 4 GB of zero bytes, and 4 GB of one valid line repeated.
    for name, unit in [("ratings.csv.gz", b"\0"), ("u.data.gz", b"1\t2\t3\t4\n")]:
        path = os.path.join(work, name)
        total = int((4 << 30) * scale)
        block = (unit * ((1 << 20) // len(unit) + 1))[: 1 << 20]
        compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
        with open(path, "wb") as f:
            for _ in range(total >> 20):
                f.write(compressor.compress(block))
            f.write(compressor.flush())
        cases.append((path, total))

    for path, decompressed in cases:
        print(json.dumps(measure(binary, path, decompressed)), flush=True)
        os.remove(path)
    os.rmdir(work)


if __name__ == "__main__":
    main(sys.argv[1], *(float(a) for a in sys.argv[2:]))
