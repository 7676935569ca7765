-- Every connection assigns its own jobs into one hot project, unassigning
-- each job after its assignment: concurrent changes of one project.
local common = require("common")

local mine, position, assigning, path

common.install({
  init = function()
    mine = common.slice(data.jobs)
    position, assigning = 1, true
    path = "/v1/projects/" .. data.project .. "/jobs"
  end,
  request = function()
    local job = mine[position]
    if assigning then
      return wrk.format("POST", path, json_headers, '{"jobId": "' .. job .. '"}')
    end
    return wrk.format("DELETE", path .. "/" .. job, read_headers)
  end,
  advance = function()
    if not assigning then
      position = position % #mine + 1
    end
    assigning = not assigning
  end,
})
