package io.waterdrop.docs;

import org.springframework.stereotype.Service;

import io.waterdrop.Message;
import io.waterdrop.Producer;

/** The first example of docs/configuration.md, compiled. */
@Service
class Greeter {

	private final Producer producer;

	Greeter(Producer producer) {
		this.producer = producer;
	}

	void greet(String name) {
		this.producer.produceAsync(Message.of("greetings", "hello " + name));
	}

}
