# ActiveRecord's connection pools (6.1), as poolwatch pools of kind
# "activerecord".
#
# Each ConnectionPool is declared when it is made, named after its database
# configuration ("primary"), with its size as both size and limit.
# checkout is a checkout, made with the time it waited (one call into the
# shim); ActiveRecord::ConnectionTimeoutError ("could not obtain a
# connection from the pool within 5.000 seconds") is a failed checkout,
# which the shim records as pool_exhausted with the stacks of whoever holds
# the pool's connections; checkin ends it and says whether a transaction
# is still open; the pool's connections are its connections (adopted when
# made, removed, disconnected). Connections are identified by their PGconn,
# so an idle pool connection is not a libpq leak. A pool left open at exit
# is fine: nobody disconnects ActiveRecord's pools at exit.
require 'poolwatch/api'
require 'poolwatch/connection_handle'

module Poolwatch
  module ActiveRecordPool
    CLASS_NAME = 'ActiveRecord::ConnectionAdapters::ConnectionPool'

    def self.clock
      Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end

    # Hooks the pool class now if ActiveRecord is loaded, else as soon as
    # the program loads it: when the body of the class's definition ends.
    def self.install
      return patch(Object.const_get(CLASS_NAME)) if loaded?
      @trace = TracePoint.new(:end) do |event|
        klass = event.self
        next unless klass.is_a?(Module) && klass.name == CLASS_NAME
        @trace.disable
        patch(klass)
      end
      @trace.enable
    end

    def self.loaded?
      defined?(::ActiveRecord::ConnectionAdapters::ConnectionPool) ? true : false
    end

    def self.patch(klass)
      klass.prepend(Hooks) unless klass < Hooks
    end

    # Has CONNECTION a transaction open? libpq's own answer for ruby-pg
    # (a BEGIN run as plain SQL is one too), else ActiveRecord's.
    def self.in_transaction?(connection)
      raw = connection.instance_variable_get(:@connection)
      if defined?(::PG::Connection) && raw.is_a?(::PG::Connection)
        [::PG::PQTRANS_INTRANS, ::PG::PQTRANS_INERROR].include?(raw.transaction_status)
      else
        connection.respond_to?(:transaction_open?) && connection.transaction_open?
      end
    rescue StandardError
      false
    end

    module Hooks
      def initialize(*arguments, **options)
        super
        name = respond_to?(:db_config) && db_config.respond_to?(:name) ? db_config.name : 'activerecord'
        @poolwatch = Poolwatch::API.declare('activerecord', name, @size, @size)
      end

      def checkout(*arguments)
        started = Poolwatch::ActiveRecordPool.clock
        connection = begin
          super
        rescue ::ActiveRecord::ConnectionTimeoutError
          Poolwatch::API.checkout_waited(@poolwatch, nil, Poolwatch::ActiveRecordPool.clock - started)
          raise
        end
        Poolwatch::API.checkout_waited(@poolwatch, Poolwatch::ConnectionHandle.of(connection),
                                       Poolwatch::ActiveRecordPool.clock - started)
        connection
      end

      def checkin(connection)
        Poolwatch::API.checkin(@poolwatch, Poolwatch::ConnectionHandle.of(connection),
                               Poolwatch::ActiveRecordPool.in_transaction?(connection))
        super
      end

      def remove(connection)
        super
        Poolwatch::API.conn_closed(@poolwatch, Poolwatch::ConnectionHandle.of(connection))
      end

      def disconnect(*arguments)
        closing = connections.map { |c| Poolwatch::ConnectionHandle.of(c) }
        super
        closing.each { |handle| Poolwatch::API.conn_closed(@poolwatch, handle) }
      end

      private

      def adopt_connection(connection)
        super
        Poolwatch::API.conn_opened(@poolwatch, Poolwatch::ConnectionHandle.of(connection))
      end
    end
  end
end
