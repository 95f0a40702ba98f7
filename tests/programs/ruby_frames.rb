# Connects with ruby-pg from named methods, for the Ruby frame tests.
# Modes: hold (keeps connections past POOLWATCH_LEAK_THRESHOLD, in the main
# thread and in a Ruby thread), shutdown (the same in an at_exit block, and
# one more left to the finalizers), exec (execs with connections open:
# leaked), clean (closes everything). Loaded with RUBYOPT=-r and
# PWTEST_STARTUP=1, it holds one while Ruby starts, before the program.
require 'pg'

def leak_a
  PG.connect # pwtest:leak_a
end

def leak_b
  PG.connect # pwtest:leak_b
end

# Holds until poolwatch's event log (PWTEST_EVENTS) shows COUNT
# connections reported as held too long, 30 s at most.
def wait_past_threshold(count = 1)
  path = ENV['PWTEST_EVENTS']
  return sleep(0.6) unless path
  1500.times do
    text = File.exist?(path) ? File.read(path) : ''
    return if text.scan(/ held_too_long pool=/).size >= count
    sleep 0.02
  end
end

if ENV['PWTEST_STARTUP']
  started = leak_a # pwtest:startup
  wait_past_threshold
  started.close
  return
end

mode = ARGV[0]
case mode
when 'hold'
  held = leak_a # pwtest:hold_a
  worker = Thread.new do
    mine = leak_b # pwtest:thread
    wait_past_threshold(2)
    mine.close
  end
  wait_past_threshold(2)
  worker.join
  held.close
when 'shutdown'
  at_exit do
    late = leak_a # pwtest:at_exit
    wait_past_threshold(2) # this one and the one left to the finalizers
    late.close
  end
  $left_to_finalizer = leak_b
when 'exec'
  kept = [leak_a, leak_b, leak_b]
  $stdout.write("ruby_frames exec done\n")
  $stdout.flush
  exec('true')
when 'clean'
  c = PG.connect
  c.exec('select 1')
  c.close
end
puts "ruby_frames #{mode} done"
