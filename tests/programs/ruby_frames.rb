# Connects with ruby-pg from named methods, for the Ruby frame tests.
# Modes: hold (keeps connections past POOLWATCH_LEAK_THRESHOLD, in the main
# thread and in a Ruby thread), exec (execs with connections open: leaked),
# clean (closes everything).
require 'pg'

def leak_a
  PG.connect # pwtest:leak_a
end

def leak_b
  PG.connect # pwtest:leak_b
end

def wait_past_threshold
  sleep 0.6
end

mode = ARGV[0]
case mode
when 'hold'
  held = leak_a # pwtest:hold_a
  worker = Thread.new do
    mine = leak_b # pwtest:thread
    wait_past_threshold
    mine.close
  end
  wait_past_threshold
  worker.join
  held.close
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
