# Ruby programs for poolwatch's Ruby support (RUBYOPT=-rpoolwatch): the
# census and ActiveRecord's pool. Modes: leak (a connection kept to the
# end, which ruby-pg's finalizer closes), closed_at_exit (the program's own
# at_exit closes it), pool (ActiveRecord: two checkouts hold a pool of 2,
# a third times out, then they are checked in, one with a transaction
# open).
require 'pg'

def leak_here
  PG.connect # pwtest:census
end

mode = ARGV[0]
case mode
when 'leak'
  $kept = leak_here
when 'closed_at_exit'
  $kept = leak_here
  at_exit { $kept.close }
when 'pool'
  require 'active_record'
  ActiveRecord::Base.establish_connection(adapter: 'postgresql', pool: 2, checkout_timeout: 0.2)
  pool = ActiveRecord::Base.connection_pool
  def hold(pool)
    pool.checkout # pwtest:holder
  end
  held = [hold(pool), hold(pool)]
  begin
    pool.checkout # pwtest:timeout
  rescue ActiveRecord::ConnectionTimeoutError => e
    puts "timed out: #{e.class}"
  end
  held[0].execute('begin')
  pool.checkin(held[0])
  pool.checkin(held[1])
end
puts "ruby_pools #{mode} done"
