-- wrk script of the scale benchmark (crates/flowcal/benches/scale.rs runs it).
--
--   wrk … -s load.lua URL -- MODE THREADS TOKEN COOKIE ADMIN_TOKEN TASKS_FILE POOL_FILE INSTANCES_FILE DELAY_MS
--
-- MODE: api_list (GET /api/v1/tasks?state=open&limit=50 with TOKEN), page_list (GET /tasks
-- with the session COOKIE), task_page (GET /tasks/{id}, ids from TASKS_FILE), complete
-- (POST /api/v1/tasks/{id}/complete, each id of POOL_FILE once, then the thread stops), mixed (all of them, plus
-- PATCH /api/v1/instances/{id}/data by the administrator with ADMIN_TOKEN on the
-- instances of INSTANCES_FILE), each connection waiting DELAY_MS between requests.
-- done() prints one line, "SCALE_RESULT {json}", that the benchmark reads.

local threads = {}

function setup(thread)
    thread:set("tid", #threads)
    table.insert(threads, thread)
end

local function lines(path)
    local out = {}
    if path == nil or path == "-" then
        return out
    end
    local f = assert(io.open(path, "r"))
    for l in f:lines() do
        if l ~= "" then
            table.insert(out, l)
        end
    end
    f:close()
    return out
end

-- Mostly reads: per 20 requests, 8 API lists, 4 list pages, 5 task pages, 2 completes,
-- 1 data change.
local pattern = { "a", "p", "t", "a", "c", "a", "t", "p", "a", "t", "a", "d", "p", "t", "a", "c", "a", "t", "p", "a" }

function init(args)
    mode = args[1]
    nthreads = tonumber(args[2])
    token = args[3]
    cookie = args[4]
    admin = args[5]
    tasks = lines(args[6])
    pool = lines(args[7])
    instances = lines(args[8])
    pause = tonumber(args[9] or "0")
    non2xx = 0
    statuses = ""
    seen = {}
    -- Each thread walks its own share of the lists, so no two requests complete one task.
    n_task, n_pool, n_inst, n_req = 0, 0, 0, 0
end

local function nth(list, i)
    return list[(tid + nthreads * i) % #list + 1]
end

local function api_list()
    return wrk.format("GET", "/api/v1/tasks?state=open&limit=50", { ["Authorization"] = "Bearer " .. token })
end

local function page_list()
    return wrk.format("GET", "/tasks", { ["Cookie"] = cookie })
end

local function task_page()
    n_task = n_task + 1
    return wrk.format("GET", "/tasks/" .. nth(tasks, n_task), { ["Cookie"] = cookie })
end

local function complete()
    local id = nth(pool, n_pool)
    n_pool = n_pool + 1
    return wrk.format("POST", "/api/v1/tasks/" .. id .. "/complete",
        { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }, "{}")
end

local function data_change()
    local id = nth(instances, n_inst)
    n_inst = n_inst + 1
    -- A new due date each time, within a year from 2027-01-01.
    local day = os.date("!%Y-%m-%d", 1798761600 + ((n_inst * 37 + tid) % 365) * 86400)
    return wrk.format("PATCH", "/api/v1/instances/" .. id .. "/data",
        { ["Authorization"] = "Bearer " .. admin, ["Content-Type"] = "application/json" },
        '{"data":{"due":"' .. day .. '"}}')
end

local kinds = { a = api_list, p = page_list, t = task_page, c = complete, d = data_change }

function request()
    n_req = n_req + 1
    if mode == "api_list" then
        return api_list()
    elseif mode == "page_list" then
        return page_list()
    elseif mode == "task_page" then
        return task_page()
    elseif mode == "complete" then
        -- Each task is completed once: a thread whose share of the pool is done
        -- stops (the load ends when all have; its rate counts the time it ran).
        if tid + nthreads * n_pool >= #pool then
            wrk.thread:stop()
        end
        return complete()
    else
        return kinds[pattern[(n_req + tid * 7) % #pattern + 1]]()
    end
end

function delay()
    return pause
end

function response(status, headers, body)
    if status < 200 or status > 299 then
        non2xx = non2xx + 1
        -- The first few distinct statuses, to say what went wrong.
        if not seen[status] and #statuses < 40 then
            seen[status] = true
            statuses = statuses .. status .. " "
        end
    end
end

function done(summary, latency, requests)
    local bad, why = 0, ""
    for _, t in ipairs(threads) do
        bad = bad + t:get("non2xx")
        why = why .. t:get("statuses")
    end
    local e = summary.errors
    io.write(string.format(
        'SCALE_RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,' ..
        '"non2xx":%d,"statuses":"%s","connect":%d,"read":%d,"write":%d,"timeout":%d}\n',
        summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
        bad, why, e.connect, e.read, e.write, e.timeout))
end
