# Ruby stack capture cost: checkouts and checkins of an annotated pool,
# made from Ruby code DEPTH Ruby frames down, through Fiddle. Each pair
# captures one stack (at the checkout); run with POOLWATCH_STACK_DEPTH=0
# (no capture) and 32, the difference per pair is what one capture of a
# Ruby stack costs (python_capture.py measures the same for Python).
#
# Usage: ruby ruby_capture.rb SECONDS DEPTH; prints ns_per_op=... (CPU time) pairs=...
# SECONDS 0 runs only the 2,000 warm-up pairs (for instruction counts).
# Needs libpoolwatch.so preloaded (it defines the pw_v1_* functions).
require 'fiddle'

def bind(name, arguments, result)
  # need_gvl: the call keeps the GVL, as poolwatch's own Ruby support does (a
  # release and reacquire per call would dwarf the capture).
  Fiddle::Function.new(Fiddle::Handle::DEFAULT["pw_v1_#{name}"], arguments, result, need_gvl: true)
end

POINTER, INT, VOID = Fiddle::TYPE_VOIDP, Fiddle::TYPE_INT, Fiddle::TYPE_VOID
DECLARE = bind('pool_declare', [POINTER, INT, INT], POINTER)
BEGIN_CHECKOUT = bind('checkout_begin', [POINTER], VOID)
END_CHECKOUT = bind('checkout_end', [POINTER, POINTER], VOID)
CHECKIN = bind('checkin', [POINTER, POINTER, INT], VOID)
POOL = DECLARE.call('bench-ruby', 1, 1)
CONN = 0x1000

def pairs(count)
  count.times do
    BEGIN_CHECKOUT.call(POOL)
    END_CHECKOUT.call(POOL, CONN)
    CHECKIN.call(POOL, CONN, 0)
  end
end

# The thread's CPU time: far less disturbed by other processes than wall time.
def timed(count)
  started = Process.clock_gettime(Process::CLOCK_THREAD_CPUTIME_ID, :nanosecond)
  pairs(count)
  Process.clock_gettime(Process::CLOCK_THREAD_CPUTIME_ID, :nanosecond) - started
end

# Runs the pairs DEPTH Ruby frames down, like a request handler under a framework.
def nested(depth, count)
  depth.positive? ? nested(depth - 1, count) : timed(count)
end

seconds, depth = Float(ARGV[0]), Integer(ARGV[1])
nested(depth, 2000) # warm: stacks interned, caches filled
if seconds.zero?
  puts 'pairs=2000'
  exit
end
count = 2000
loop do
  elapsed = nested(depth, count)
  if elapsed >= seconds * 1e9 || count >= 1 << 24
    puts format('ns_per_op=%.1f pairs=%d', elapsed.to_f / count, count)
    break
  end
  count *= 2
end
