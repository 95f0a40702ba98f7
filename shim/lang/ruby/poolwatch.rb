# poolwatch's start-up hook for Ruby programs.
#
# `poolwatch run` sets RUBYOPT="-I<dir> -rpoolwatch", <dir> being
# poolwatch/ruby beside libpoolwatch.so, so Ruby loads this file before the
# program (the way other agents inject themselves). It takes the census once
# the program's own code has finished and tracks ActiveRecord's connection
# pools. Without libpoolwatch.so in the process it loads nothing and does
# nothing, and it never changes how the program runs or exits.
if ENV.fetch('LD_PRELOAD', '').include?('poolwatch')
  begin
    require 'poolwatch/api'
    if Poolwatch::API.available
      # at_exit handlers run last registered first: this one, registered
      # before the program's, runs after all of them, and before the
      # finalizers close what the program left open (ruby-pg's close every
      # PG::Connection as the VM ends, and a report written after them
      # would say "no leaks").
      at_exit { Poolwatch::API.census }
      require 'poolwatch/active_record_pool'
      Poolwatch::ActiveRecordPool.install
    end
  rescue StandardError, ScriptError
    nil
  end
end
