-- wrk script of the benchmark (bench/wrk.py): POST one trigger per workflow id.
--
-- One connection per wrk thread, so each thread knows which request an answer belongs to.
-- Request i (0-based) goes to string.format(WRK_PATH, i); thread t (1-based) of T sends
-- i = t-1, t-1+T, t-1+2T, ... < WRK_N. With WRK_RATE > 0 the load is open loop: request i
-- leaves at WRK_START + i / WRK_RATE (epoch seconds), whatever the earlier answers did (as
-- long as its connection is free); with WRK_RATE = 0, as fast as the answers come.
-- Each thread writes "i sent_at answered_at status retry_after" lines (retry_after: the
-- Retry-After header or "-") to WRK_OUT/<t>.log and a final
-- "done" line, then stops; the benchmark ends wrk (SIGINT) once every thread is done.
-- WRK_PORTS (comma-separated) spreads the threads over several servers on the same host.
-- Settings come from the environment: the setup phase never sees the script's arguments.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")

local function now()
    ffi.C.clock_gettime(0, ts) -- CLOCK_REALTIME: comparable with the services' timestamps
    return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local threads = 0

function setup(thread)
    threads = threads + 1
    thread:set("tid", threads)
    local ports = {}
    for port in string.gmatch(os.getenv("WRK_PORTS") or "", "%d+") do
        ports[#ports + 1] = port
    end
    if #ports > 1 then
        local port = ports[(threads - 1) % #ports + 1]
        thread.addr = wrk.lookup(wrk.host, port)[1]
    end
end

local path, n, count, rate, start, out
local i, sent_at

function init(args)
    path = os.getenv("WRK_PATH")
    n = tonumber(os.getenv("WRK_N"))
    count = tonumber(os.getenv("WRK_THREADS"))
    rate = tonumber(os.getenv("WRK_RATE") or "0")
    start = tonumber(os.getenv("WRK_START") or "0")
    out = io.open(os.getenv("WRK_OUT") .. "/" .. tid .. ".log", "w")
    out:setvbuf("full")
    i = tid - 1
    if rate <= 0 then
        delay = nil -- closed loop: wrk only calls delay() when the global is a function
    end
end

function delay()
    local wait_ms = (start + i / rate - now()) * 1000
    if wait_ms < 0 then
        return 0
    end
    return math.floor(wait_ms)
end

function request()
    if i >= n then -- not sent in practice: the thread stopped after its last answer
        return wrk.format("GET", "/health")
    end
    sent_at = now()
    return wrk.format("POST", string.format(path, i), nil, "")
end

function response(status, headers, body)
    local retry = headers["retry-after"] or headers["Retry-After"] or "-"
    out:write(string.format("%d %.6f %.6f %d %s\n", i, sent_at, now(), status, retry))
    i = i + count
    if i >= n then
        out:write("done\n")
        out:flush()
        wrk.thread:stop()
    end
end
